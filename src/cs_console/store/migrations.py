"""Versioned schema migrations for the client store.

``PRAGMA user_version`` holds the version. Each step is plain SQL, frozen once
released: a store written by any earlier release upgrades in place, step by step,
inside one transaction per step. ``tests/test_migrations.py`` checks that the
migrated schema matches the models.
"""

from __future__ import annotations

#: Version 1: the first released schema.
V1 = """
CREATE TABLE agent (
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    "group" VARCHAR,
    active BOOLEAN NOT NULL,
    PRIMARY KEY (name)
);
CREATE TABLE customer (
    id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    email VARCHAR,
    phone VARCHAR,
    language VARCHAR NOT NULL,
    notes TEXT NOT NULL,
    updated_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_customer_email ON customer (email);
CREATE TABLE conversation (
    id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    "group" VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    assignee VARCHAR,
    snoozed_until VARCHAR(27),
    waiting_since VARCHAR(27),
    last_activity_at VARCHAR(27) NOT NULL,
    unread_count INTEGER NOT NULL,
    snippet VARCHAR NOT NULL,
    queue_rank VARCHAR NOT NULL,
    updated_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(customer_id) REFERENCES customer (id)
);
CREATE INDEX ix_conversation_customer_id ON conversation (customer_id);
CREATE INDEX ix_conversation_queue ON conversation (status, queue_rank);
CREATE INDEX ix_conversation_queue_assignee ON conversation (status, assignee, queue_rank);
CREATE INDEX ix_conversation_queue_group ON conversation (status, "group", queue_rank);
CREATE TABLE message (
    seq INTEGER NOT NULL,
    id VARCHAR NOT NULL,
    conversation_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    author VARCHAR NOT NULL,
    body TEXT NOT NULL,
    created_at VARCHAR(27) NOT NULL,
    delivery VARCHAR NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE (id),
    FOREIGN KEY(conversation_id) REFERENCES conversation (id)
);
CREATE INDEX ix_message_thread ON message (conversation_id, created_at, seq);
CREATE TABLE orders (
    id VARCHAR NOT NULL,
    number VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    items_json TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency VARCHAR NOT NULL,
    carrier VARCHAR,
    tracking_number VARCHAR,
    shipping_address TEXT NOT NULL,
    placed_at VARCHAR(27) NOT NULL,
    paid_at VARCHAR(27),
    group_formed_at VARCHAR(27),
    shipped_at VARCHAR(27),
    delivered_at VARCHAR(27),
    updated_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(customer_id) REFERENCES customer (id)
);
CREATE INDEX ix_orders_customer_id ON orders (customer_id);
CREATE INDEX ix_orders_number ON orders (number);
CREATE TABLE order_event (
    id VARCHAR NOT NULL,
    order_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    at VARCHAR(27) NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE INDEX ix_order_event_order ON order_event (order_id, at);
CREATE TABLE order_remark (
    id VARCHAR NOT NULL,
    order_id VARCHAR NOT NULL,
    flag VARCHAR NOT NULL,
    text TEXT NOT NULL,
    author VARCHAR NOT NULL,
    created_at VARCHAR(27) NOT NULL,
    delivery VARCHAR NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE INDEX ix_order_remark_order ON order_remark (order_id, created_at);
CREATE TABLE outbox (
    seq INTEGER NOT NULL,
    "key" VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    payload TEXT NOT NULL,
    conversation_id VARCHAR,
    created_at VARCHAR(27) NOT NULL,
    not_before VARCHAR(27) NOT NULL,
    attempts INTEGER NOT NULL,
    state VARCHAR NOT NULL,
    last_error VARCHAR,
    PRIMARY KEY (seq),
    UNIQUE ("key")
);
CREATE INDEX ix_outbox_state ON outbox (state, seq);
CREATE TABLE draft (
    conversation_id VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,
    body TEXT NOT NULL,
    updated_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (conversation_id, mode)
);
CREATE TABLE sync_state (
    "key" VARCHAR NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
);
CREATE TABLE seen_marker (
    conversation_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id)
);
"""

#: Version 2: the after-sales case register and its history.
V2 = """
CREATE TABLE case_record (
    id VARCHAR NOT NULL,
    conversation_id VARCHAR,
    customer_id VARCHAR,
    order_id VARCHAR,
    category VARCHAR NOT NULL,
    responsible VARCHAR,
    resolution VARCHAR,
    status VARCHAR NOT NULL,
    refund_minor INTEGER NOT NULL,
    compensation_minor INTEGER NOT NULL,
    postage_lost_minor INTEGER NOT NULL,
    currency VARCHAR NOT NULL,
    follow_up_on VARCHAR,
    evidence_json TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_by VARCHAR NOT NULL,
    approved_by VARCHAR,
    created_at VARCHAR(27) NOT NULL,
    updated_at VARCHAR(27) NOT NULL,
    delivery VARCHAR NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_case_conversation ON case_record (conversation_id);
CREATE INDEX ix_case_follow_up ON case_record (follow_up_on);
CREATE INDEX ix_case_status ON case_record (status, updated_at);
CREATE TABLE case_event (
    id VARCHAR NOT NULL,
    case_id VARCHAR NOT NULL,
    at VARCHAR(27) NOT NULL,
    author VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    changes TEXT NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_case_event_case ON case_event (case_id, at);
"""

#: Version 3: shift handover notes.
V3 = """
CREATE TABLE handover (
    id VARCHAR NOT NULL,
    author VARCHAR NOT NULL,
    shift_started_at VARCHAR(27) NOT NULL,
    created_at VARCHAR(27) NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_handover_created ON handover (created_at);
"""

#: Version 4: the shop's published quick replies, and every use of a quick reply.
V4 = """
CREATE TABLE shop_reply (
    id VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    "group" VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    body TEXT NOT NULL,
    keywords_json TEXT NOT NULL,
    scenario VARCHAR NOT NULL,
    audience VARCHAR NOT NULL,
    hotkey VARCHAR,
    actions_json TEXT NOT NULL,
    updated_at VARCHAR(27) NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE reply_use (
    seq INTEGER NOT NULL,
    reply_id VARCHAR NOT NULL,
    agent VARCHAR NOT NULL,
    used_at VARCHAR(27) NOT NULL,
    how VARCHAR NOT NULL,
    conversation_id VARCHAR,
    PRIMARY KEY (seq)
);
CREATE INDEX ix_reply_use_used_at ON reply_use (used_at);
CREATE INDEX ix_reply_use_reply ON reply_use (reply_id, agent);
"""

#: Version 5: one person's customer records in two systems (chats and orders), matched
#: by email or phone, or linked by hand. Emails already in the store are indexed here;
#: phones need Python's normalising and are indexed as their records sync again.
V5 = """
CREATE TABLE customer_key (
    "key" VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    PRIMARY KEY ("key", customer_id)
);
CREATE INDEX ix_customer_key_customer_id ON customer_key (customer_id);
CREATE TABLE customer_link (
    customer_id VARCHAR NOT NULL,
    other_id VARCHAR NOT NULL,
    author VARCHAR NOT NULL,
    created_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (customer_id, other_id)
);
INSERT OR IGNORE INTO customer_key ("key", customer_id)
    SELECT 'email:' || lower(trim(email)), id FROM customer
    WHERE instr(trim(email), '@') > 1 AND substr(trim(email), -1) != '@';
"""

#: Version 6: agents' presence, capacity and routing weight; conversations' priority;
#: tags (JSON lists of short words) on conversations and customers.
V6 = """
ALTER TABLE agent ADD COLUMN presence VARCHAR NOT NULL DEFAULT 'offline';
ALTER TABLE agent ADD COLUMN presence_since VARCHAR(27);
ALTER TABLE agent ADD COLUMN capacity INTEGER NOT NULL DEFAULT 5;
ALTER TABLE agent ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
ALTER TABLE customer ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversation ADD COLUMN priority VARCHAR NOT NULL DEFAULT 'normal';
ALTER TABLE conversation ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
CREATE INDEX ix_conversation_queue_priority ON conversation (status, priority, queue_rank);
"""

#: Version 7: attachments of messages (photos, files, product cards); the client keeps
#: the files it sends and fetches in its attachments folder (``local_path``).
V7 = """
CREATE TABLE attachment (
    id VARCHAR NOT NULL,
    message_id VARCHAR,
    kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    content_type VARCHAR NOT NULL,
    size INTEGER NOT NULL,
    url VARCHAR,
    title VARCHAR,
    price VARCHAR,
    sku VARCHAR,
    uploaded_by VARCHAR,
    sha256 VARCHAR,
    local_path VARCHAR,
    created_at VARCHAR(27) NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_attachment_message_id ON attachment (message_id);
"""

#: Version 8: the customer channels. An email conversation's subject (the composer shows
#: it, the reply carries it); when the customer was last seen typing in the widget.
V8 = """
ALTER TABLE conversation ADD COLUMN subject VARCHAR;
ALTER TABLE conversation ADD COLUMN customer_typing_at VARCHAR(27);
"""

#: Index i holds the SQL that takes a store from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6, V7, V8)

LATEST_VERSION = len(MIGRATIONS)
