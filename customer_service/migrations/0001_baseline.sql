-- The customer service's schema as the first release (2026-11-24) created it. IF NOT EXISTS:
-- a database made by any earlier db_init.sql is taken as it is.

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
