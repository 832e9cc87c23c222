-- revision: c6e07ed3a3a7
-- parents:
-- message: baseline: 2 revision(s) squashed up to a2

-- The schema the squashed revisions produced (strata squash); databases that ran
-- them read as having this baseline (migrations/SQUASHED).

-- +upgrade sqlite
CREATE TABLE t1 (
    id integer,
    name text NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE t2 (
    id integer,
    t1_id integer,
    PRIMARY KEY (id),
    FOREIGN KEY (t1_id) REFERENCES t1 (id)
);

-- +downgrade
-- irreversible: a squashed baseline
