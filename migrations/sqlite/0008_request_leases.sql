-- A request being answered holds its key for a while only: a retry after
-- the first answerer died takes the key over instead of waiting a day.
ALTER TABLE request_keys ADD COLUMN claimed_until TIMESTAMP;
