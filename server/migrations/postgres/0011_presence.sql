-- Presence (API.md section 13): which head and sous chefs have a dashboard open, on which
-- running process. A process renews its row while it runs; one whose row has lapsed died
-- without closing its sockets, and any other process takes its chefs away.
CREATE TABLE presence_processes (
    id          TEXT    PRIMARY KEY,
    -- Unix milliseconds of the database's clock.
    alive_until BIGINT  NOT NULL
);

CREATE TABLE chefs_online (
    process_id TEXT    NOT NULL REFERENCES presence_processes (id) ON DELETE CASCADE,
    kitchen_id BIGINT  NOT NULL REFERENCES kitchens (id),
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    PRIMARY KEY (process_id, kitchen_id, user_id)
);
CREATE INDEX chefs_online_by_kitchen ON chefs_online (kitchen_id);

-- Every change of a kitchen's presence takes the next version of its row (locked until it
-- commits), so the count each change announces is in commit order, and a process keeps the
-- newest whatever order it hears them in.
CREATE TABLE kitchen_presence (
    kitchen_id BIGINT  PRIMARY KEY REFERENCES kitchens (id),
    version    BIGINT  NOT NULL
);
