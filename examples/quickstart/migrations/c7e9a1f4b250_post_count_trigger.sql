-- revision: c7e9a1f4b250
-- parents: 8b41d6c03e2a
-- message: keep a post count per user
-- created: 2026-11-21 09:02:00

-- +upgrade
ALTER TABLE users ADD COLUMN post_count INTEGER NOT NULL DEFAULT 0;
-- A trigger body holds several statements; strata keeps BEGIN ... END together.
CREATE TRIGGER posts_count_insert AFTER INSERT ON posts
BEGIN
    UPDATE users SET post_count = post_count + 1 WHERE id = NEW.author_id;
END;
CREATE TRIGGER posts_count_delete AFTER DELETE ON posts
BEGIN
    UPDATE users SET post_count = post_count - 1 WHERE id = OLD.author_id;
END;

-- +downgrade
DROP TRIGGER posts_count_delete;
DROP TRIGGER posts_count_insert;
ALTER TABLE users DROP COLUMN post_count;
