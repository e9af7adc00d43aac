"""A pooled connection the server dropped is replaced, not failed, though nothing pings it on checkout."""

import pymysql

from shop_common.db import connect_arguments


def kill_pooled_connections(app):
    """End, from the server's side, every connection open to the app's database but this one; how many."""
    with pymysql.connect(**connect_arguments(app.config)) as admin, admin.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM information_schema.PROCESSLIST WHERE db = %s AND id <> CONNECTION_ID()",
            (app.config["DB_NAME"],),
        )
        ids = [row["id"] for row in cursor.fetchall()]
        for connection_id in ids:
            cursor.execute("KILL CONNECTION %s", (connection_id,))
    return len(ids)


def test_a_read_after_the_server_dropped_the_pooled_connection_is_answered(client, create_product):
    product_id = create_product(name="Kettle")
    assert kill_pooled_connections(client.application) >= 1

    response = client.get(f"/api/products/{product_id}")

    assert response.status_code == 200
    assert response.get_json()["name"] == "Kettle"


def test_a_transaction_after_the_server_dropped_the_pooled_connection_commits(client, tokens, create_product):
    product_id = create_product(stock=3)
    assert kill_pooled_connections(client.application) >= 1

    # A new stock is checked under the product's row lock: a transaction.
    response = client.put(f"/api/products/{product_id}", json={"stock": 7}, headers=tokens.admin())

    assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/products/{product_id}").get_json()["stock"] == 7
