-- payment_db: the payments of orders (issue 22). Same as db_init.sql's section.

-- Every payment of an order (payment_service/payments.py). A row is recorded
-- `pending` before the provider is asked, under the Idempotency-Key the
-- provider is sent too, so an unknown outcome is settled later by that key
-- (the same request again, or the sweeper asking the provider).
CREATE TABLE IF NOT EXISTS payments (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id INT UNSIGNED NOT NULL,
    idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    amount DECIMAL(10, 2) NOT NULL,
    currency CHAR(3) CHARACTER SET ascii NOT NULL DEFAULT 'usd',
    payment_method VARCHAR(255) NOT NULL,
    status ENUM('pending', 'captured', 'declined', 'failed', 'refunded') NOT NULL DEFAULT 'pending',
    provider_reference VARCHAR(64) CHARACTER SET ascii NULL,
    decline_reason VARCHAR(64) CHARACTER SET ascii NULL,
    refunded_amount DECIMAL(10, 2) NOT NULL DEFAULT 0,
    refund_idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    CONSTRAINT chk_payments_amount CHECK (amount > 0),
    UNIQUE KEY uq_payments_idempotency_key (idempotency_key),
    KEY ix_payments_order (order_id, id),
    KEY ix_payments_status (status, updated_at)
) ENGINE=InnoDB;
