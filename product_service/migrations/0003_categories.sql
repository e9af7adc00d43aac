-- Catalog browsing (issue 23): a product's category, and the indexes that keep a filtered,
-- sorted catalog page one index range read (docs/catalog.md). Applies on the previous schema;
-- existing products get no category (NULL), which every filter and count handles.
ALTER TABLE products ADD COLUMN IF NOT EXISTS category VARCHAR(64) NULL AFTER image_url;
CREATE INDEX IF NOT EXISTS ix_products_price ON products (price);
CREATE INDEX IF NOT EXISTS ix_products_category ON products (category);
CREATE INDEX IF NOT EXISTS ix_products_category_price ON products (category, price);
CREATE INDEX IF NOT EXISTS ix_products_category_name ON products (category, name);
