-- payment_sandbox_db: the sandbox's ledger (issue 22). Same as db_init.sql's section.

-- The sandbox's ledger (payment_sandbox/ledger.py), written by the sandbox
-- alone. One row per Idempotency-Key: the UNIQUE key, not a look-up first, is
-- what makes concurrent requests with one key make exactly one charge.
-- `ledger_position` keeps the ledger's order; `request_hash` tells a replay from a
-- key reused with another body.
CREATE TABLE IF NOT EXISTS charges (
    id VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    ledger_position BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii NOT NULL,
    amount DECIMAL(10, 2) NOT NULL,
    amount_captured DECIMAL(10, 2) NOT NULL,
    amount_refunded DECIMAL(10, 2) NOT NULL DEFAULT 0,
    currency CHAR(3) CHARACTER SET ascii NOT NULL,
    status ENUM('succeeded', 'failed') NOT NULL,
    decline_code VARCHAR(64) CHARACTER SET ascii NULL,
    payment_method VARCHAR(255) NOT NULL,
    metadata TEXT NOT NULL,
    created INT UNSIGNED NOT NULL,
    CONSTRAINT chk_charges_refunded CHECK (amount_refunded <= amount_captured),
    UNIQUE KEY uq_charges_position (ledger_position),
    UNIQUE KEY uq_charges_idempotency_key (idempotency_key)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS refunds (
    id VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    charge_id VARCHAR(32) CHARACTER SET ascii NOT NULL,
    idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request_hash CHAR(64) CHARACTER SET ascii NOT NULL,
    amount DECIMAL(10, 2) NOT NULL,
    created INT UNSIGNED NOT NULL,
    UNIQUE KEY uq_refunds_idempotency_key (idempotency_key),
    CONSTRAINT fk_refunds_charge FOREIGN KEY (charge_id) REFERENCES charges (id)
) ENGINE=InnoDB;

-- The failure injection in force (POST /v1/test_helpers/behaviour), one row,
-- shared by every worker; without it the SANDBOX_* settings apply.
CREATE TABLE IF NOT EXISTS behaviour (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    delay_seconds DOUBLE NOT NULL,
    failure_rate DOUBLE NOT NULL,
    late_rate DOUBLE NOT NULL,
    late_seconds DOUBLE NOT NULL,
    CONSTRAINT chk_behaviour_single CHECK (id = 1)
) ENGINE=InnoDB;
