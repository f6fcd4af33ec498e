-- The database's epoch: a random name made when the database is created and again when it is
-- restored from a backup (`server restore`, `server renew-epoch`). `seq` starts over from the
-- backup's value after a restore; the epoch tells clients that held a higher one to start
-- over instead of ignoring every update until `seq` catches up.
CREATE TABLE database_epoch (
    epoch TEXT NOT NULL
);
INSERT INTO database_epoch (epoch) VALUES (lower(hex(randomblob(8))));
