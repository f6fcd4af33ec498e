-- The database's epoch: a random name made when the database is created and again after a
-- restore (`server renew-epoch` after pg_restore). `seq` starts over from the dump's value
-- after a restore; the epoch tells clients that held a higher one to start over instead of
-- ignoring every update until `seq` catches up.
CREATE TABLE database_epoch (
    epoch TEXT NOT NULL
);
INSERT INTO database_epoch (epoch) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16));
