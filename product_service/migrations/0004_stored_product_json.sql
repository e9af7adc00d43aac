-- A product's API JSON, kept in its row: a read by id or a catalog page selects this text instead
-- of having MariaDB build a JSON object for every row on every read (docs/performance.md, "The page
-- of 100 and the read by id"). STORED: written by every INSERT and UPDATE (stock included), read as
-- any column. Every field but the id, which an AUTO_INCREMENT column cannot give a generated one;
-- the repository puts it first when it reads. created_at is written from its UNIX_TIMESTAMP, which
-- (unlike DATE_FORMAT, refused here) does not depend on the session's time zone or locale: the same
-- "2026-11-24T09:30:00Z" in UTC that the API has always answered. Applies on the previous schema.
ALTER TABLE products ADD COLUMN IF NOT EXISTS api_json MEDIUMTEXT AS (JSON_OBJECT(
    'name', name,
    'description', description,
    'price', CAST(price AS CHAR),
    'stock', stock,
    'image_url', image_url,
    'category', category,
    'created_at', CONCAT(
        FROM_DAYS(719528 + UNIX_TIMESTAMP(created_at) DIV 86400), 'T',
        SEC_TO_TIME(UNIX_TIMESTAMP(created_at) MOD 86400), 'Z'
    )
)) STORED;
