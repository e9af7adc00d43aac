-- Issue 22: the cart, checkout with payment, and the paid order lifecycle.
-- Applies on the previous schema; existing orders keep their status and get
-- payment_state 'none' (placed with POST /api/transactions, no payment).

ALTER TABLE transactions
    MODIFY status ENUM('pending', 'paid', 'shipped', 'completed', 'cancelled') NOT NULL DEFAULT 'pending',
    ADD COLUMN IF NOT EXISTS payment_state ENUM('none', 'charging', 'captured', 'refunding', 'refunded', 'declined')
        NOT NULL DEFAULT 'none' AFTER stock_state,
    ADD COLUMN IF NOT EXISTS payment_method VARCHAR(64) CHARACTER SET ascii NULL AFTER payment_state,
    ADD COLUMN IF NOT EXISTS payment_id INT UNSIGNED NULL AFTER payment_method,
    ADD KEY IF NOT EXISTS ix_transactions_payment_state (payment_state, updated_at),
    ADD KEY IF NOT EXISTS ix_transactions_user_payment (user_id, payment_state);

CREATE TABLE IF NOT EXISTS carts (
    user_id INT UNSIGNED NOT NULL PRIMARY KEY,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS cart_items (
    user_id INT UNSIGNED NOT NULL,
    product_id INT UNSIGNED NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    added_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, product_id),
    CONSTRAINT chk_cart_items_quantity CHECK (quantity BETWEEN 1 AND 10000),
    CONSTRAINT fk_cart_items_cart FOREIGN KEY (user_id) REFERENCES carts (user_id) ON DELETE CASCADE
) ENGINE=InnoDB;
