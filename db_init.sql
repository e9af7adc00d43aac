-- Schema of the service databases, as a new database starts: the tests
-- and the benchmark build their throw-away databases from it (shop_common/schema.py).
-- Deployments apply each service's migrations instead (<service>/migrations/,
-- `make db-init`, docs/upgrade.md), which build exactly this schema (`make
-- schema-check`): a schema change is a new migration AND an edit here.
-- Timestamps are stored in UTC (each connection sets time_zone = '+00:00').

-- ---------------------------------------------------------------- user service
CREATE DATABASE IF NOT EXISTS user_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE user_db;

CREATE TABLE IF NOT EXISTS users (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(32) NOT NULL,
    password_hash CHAR(60) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    role ENUM('admin', 'customer') NOT NULL DEFAULT 'customer',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Raised by every change that ends all the user's access tokens (a role change,
    -- logout-all); access tokens carry the epoch they were issued in (sessions.py).
    session_epoch INT UNSIGNED NOT NULL DEFAULT 0,
    UNIQUE KEY uq_users_username (username)
) ENGINE=InnoDB;

-- Refresh tokens, kept only as SHA-256 hashes. One login is one family: each
-- refresh spends its token and adds the next; a spent token used again revokes
-- the whole family (see user_service/sessions.py). A deleted user's go with them.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    family CHAR(32) CHARACTER SET ascii NOT NULL,
    user_id INT UNSIGNED NOT NULL,
    user_agent VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL,
    spent_at DATETIME NULL,
    revoked_at DATETIME NULL,
    KEY ix_refresh_tokens_family (family),
    KEY ix_refresh_tokens_user (user_id, revoked_at),
    KEY ix_refresh_tokens_expires (expires_at),
    CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Deleted users whose customer profile the customer service has not yet
-- confirmed erased (an outbox, written with the deletion; user_service/erasure.py).
CREATE TABLE IF NOT EXISTS profile_erasures (
    user_id INT UNSIGNED NOT NULL PRIMARY KEY,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    last_error VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

-- ------------------------------------------------------------ customer service
CREATE DATABASE IF NOT EXISTS customer_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE customer_db;

CREATE TABLE IF NOT EXISTS customers (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id INT UNSIGNED NOT NULL,
    name VARCHAR(255) NOT NULL,
    email VARCHAR(254) NOT NULL,
    phone VARCHAR(32) NULL,
    address VARCHAR(500) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE KEY uq_customers_user_id (user_id),
    UNIQUE KEY uq_customers_email (email)
) ENGINE=InnoDB;

-- ------------------------------------------------------------- product service
CREATE DATABASE IF NOT EXISTS product_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE product_db;

CREATE TABLE IF NOT EXISTS products (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NULL,
    price DECIMAL(10, 2) NOT NULL,
    stock INT NOT NULL DEFAULT 0,
    image_url VARCHAR(2048) NULL,
    category VARCHAR(64) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_products_price CHECK (price >= 0),
    CONSTRAINT chk_products_stock CHECK (stock >= 0),
    KEY ix_products_name (name),
    -- A catalog page is one index range read in the order asked (docs/catalog.md): by price or
    -- name, within a category or not; newest first is the primary key (InnoDB ends every
    -- secondary key with it, so "category, id" is ix_products_category itself).
    KEY ix_products_price (price),
    KEY ix_products_category (category),
    KEY ix_products_category_price (category, price),
    KEY ix_products_category_name (category, name)
) ENGINE=InnoDB;

-- Stock held for an order, under the order's reference. `released` is final:
-- a reference released before its reservation arrived (a timed-out order) is
-- kept as a tombstone, so the late reservation is refused instead of holding
-- stock for an order that no longer exists.
CREATE TABLE IF NOT EXISTS stock_reservations (
    reference CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    status ENUM('held', 'released') NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS stock_reservation_lines (
    reference CHAR(36) CHARACTER SET ascii NOT NULL,
    product_id INT UNSIGNED NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    product_name VARCHAR(255) NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL,
    PRIMARY KEY (reference, product_id),
    KEY ix_lines_product (product_id),
    CONSTRAINT fk_lines_reservation FOREIGN KEY (reference)
        REFERENCES stock_reservations (reference) ON DELETE CASCADE
) ENGINE=InnoDB;

-- --------------------------------------------------------- transaction service
CREATE DATABASE IF NOT EXISTS transaction_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE transaction_db;

-- `status` is the order's public state; `payment_state` where a checkout stands
-- with its payment (`none` for orders placed with POST /api/transactions; see
-- transaction_service/checkout.py), `payment_id` the payment service's payment; `stock_state` is where the saga stands
-- with the stock held for it (see transaction_service/saga.py). `reference`
-- names the stock reservation in the product service; `user_id` is the owner,
-- copied from the customer profile at order time so reads need no other service.
CREATE TABLE IF NOT EXISTS transactions (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    reference CHAR(36) CHARACTER SET ascii NOT NULL,
    customer_id INT UNSIGNED NOT NULL,
    user_id INT UNSIGNED NOT NULL,
    total_amount DECIMAL(10, 2) NOT NULL DEFAULT 0,
    status ENUM('pending', 'paid', 'shipped', 'completed', 'cancelled') NOT NULL DEFAULT 'pending',
    stock_state ENUM('reserving', 'held', 'releasing', 'released') NOT NULL DEFAULT 'reserving',
    payment_state ENUM('none', 'charging', 'captured', 'refunding', 'refunded', 'declined')
        NOT NULL DEFAULT 'none',
    payment_method VARCHAR(64) CHARACTER SET ascii NULL,
    payment_id INT UNSIGNED NULL,
    transaction_date TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    CONSTRAINT chk_transactions_total CHECK (total_amount >= 0),
    UNIQUE KEY uq_transactions_reference (reference),
    KEY ix_transactions_customer (customer_id, id),
    KEY ix_transactions_stock_state (stock_state, updated_at),
    KEY ix_transactions_payment_state (payment_state, updated_at),
    KEY ix_transactions_user_payment (user_id, payment_state)
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

-- Customer profiles the customer service deleted, told before it deletes one:
-- an order's INSERT refuses these customers (see transaction_service/owners.py).
CREATE TABLE IF NOT EXISTS deleted_customers (
    customer_id INT UNSIGNED NOT NULL PRIMARY KEY,
    deleted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

-- Idempotency-Key records, per caller, kept 24 h. `transaction_id` is set in
-- the same database transaction that records the order, so a crash between
-- recording and answering can still be answered from the order.
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

-- The cart of each user, kept here beside the orders it becomes: checkout
-- empties it in the same database transaction that marks its order paid.
-- The `carts` row is locked while a line changes or a checkout starts, so the
-- 100-line limit and "one checkout at a time" hold under concurrency.
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

-- --------------------------------------------------------- payment service
CREATE DATABASE IF NOT EXISTS payment_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE payment_db;

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

-- --------------------------------------------------------- payment sandbox
CREATE DATABASE IF NOT EXISTS payment_sandbox_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE payment_sandbox_db;

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
