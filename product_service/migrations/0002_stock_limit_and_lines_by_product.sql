-- The stock limit: a product's stock plus what orders hold of it stays within the stock column's
-- INT (2147483647), so a cancelled order's units can always go back. The product service keeps it
-- for every new stock (PUT answers 409). A product that already passes it is brought within it
-- here: its stock is lowered to 2147483647 less what orders hold (never below 0), so the held
-- units can return on cancellation. No row is removed, and no held quantity is changed.

UPDATE products p
JOIN (
    SELECT l.product_id, SUM(l.quantity) AS held
    FROM stock_reservation_lines l
    JOIN stock_reservations r ON r.reference = l.reference
    WHERE r.status = 'held'
    GROUP BY l.product_id
) h ON h.product_id = p.id
SET p.stock = GREATEST(0, 2147483647 - h.held)
WHERE p.stock + h.held > 2147483647;

-- What orders hold of a product, read under its row lock on every stock change: by product.
CREATE INDEX IF NOT EXISTS ix_lines_product ON stock_reservation_lines (product_id);
