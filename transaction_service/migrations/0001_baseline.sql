-- The transaction service's schema as the first release (2026-11-24) created it. IF NOT EXISTS:
-- a database made by any earlier db_init.sql is taken as it is, and 0002 on brings it up to date.

CREATE TABLE IF NOT EXISTS transactions (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    reference CHAR(36) CHARACTER SET ascii NOT NULL,
    customer_id INT UNSIGNED NOT NULL,
    user_id INT UNSIGNED NOT NULL,
    total_amount DECIMAL(10, 2) NOT NULL DEFAULT 0,
    status ENUM('pending', 'completed', 'cancelled') NOT NULL DEFAULT 'pending',
    stock_state ENUM('reserving', 'held', 'releasing', 'released') NOT NULL DEFAULT 'reserving',
    transaction_date TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    CONSTRAINT chk_transactions_total CHECK (total_amount >= 0),
    UNIQUE KEY uq_transactions_reference (reference),
    KEY ix_transactions_customer (customer_id, id),
    KEY ix_transactions_stock_state (stock_state, updated_at)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS transaction_items (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    transaction_id INT UNSIGNED NOT NULL,
    product_id INT UNSIGNED NOT NULL,
    product_name VARCHAR(255) NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    price_per_item DECIMAL(10, 2) NOT NULL,
    CONSTRAINT chk_items_quantity CHECK (quantity > 0),
    CONSTRAINT fk_items_transaction FOREIGN KEY (transaction_id)
        REFERENCES transactions (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller VARCHAR(64) CHARACTER SET ascii NOT NULL,
    idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii NOT NULL,
    state ENUM('in_progress', 'done') NOT NULL DEFAULT 'in_progress',
    transaction_id INT UNSIGNED NULL,
    response_status SMALLINT UNSIGNED NULL,
    response_body MEDIUMTEXT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (caller, idempotency_key),
    KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB;
