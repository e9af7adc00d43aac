-- Customer profiles the customer service deleted, told before it deletes one: an order's INSERT
-- refuses these customers (transaction_service/owners.py). A new table: no existing row changes.
-- Profiles deleted under an earlier release were never told, so they are not in it.

CREATE TABLE IF NOT EXISTS deleted_customers (
    customer_id INT UNSIGNED NOT NULL PRIMARY KEY,
    deleted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
