-- revision: u3
-- parents: u2
-- message: host names

-- +upgrade
CREATE INDEX hosts_user ON hosts (user_id);

-- +downgrade
DROP INDEX hosts_user;
