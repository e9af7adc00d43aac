-- The product service's schema as the first release (2026-11-24) created it. IF NOT EXISTS:
-- a database made by any earlier db_init.sql is taken as it is, and 0002 on brings it up to date.

CREATE TABLE IF NOT EXISTS products (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    description TEXT NULL,
    price DECIMAL(10, 2) NOT NULL,
    stock INT NOT NULL DEFAULT 0,
    image_url VARCHAR(2048) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_products_price CHECK (price >= 0),
    CONSTRAINT chk_products_stock CHECK (stock >= 0),
    KEY ix_products_name (name)
) ENGINE=InnoDB;

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
    CONSTRAINT fk_lines_reservation FOREIGN KEY (reference)
        REFERENCES stock_reservations (reference) ON DELETE CASCADE
) ENGINE=InnoDB;
