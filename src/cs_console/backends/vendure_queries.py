"""The Admin GraphQL documents the Vendure adapter sends (Vendure 3.x).

Every mutation that can fail for a business reason selects ``... on ErrorResult``:
Vendure reports those as a union member inside HTTP 200, not as ``errors[]``.
"""

from __future__ import annotations

ERROR_RESULT = "... on ErrorResult { errorCode message }"

HISTORY_FIELDS = """
    totalItems
    items { id createdAt type isPublic data administrator { firstName lastName } }
"""

ORDER_FIELDS = f"""
    id
    code
    state
    createdAt
    updatedAt
    orderPlacedAt
    currencyCode
    totalWithTax
    customer {{ id firstName lastName emailAddress phoneNumber updatedAt }}
    shippingAddress {{
        fullName company streetLine1 streetLine2 city province postalCode country phoneNumber
    }}
    lines {{ id quantity unitPriceWithTax productVariant {{ sku name }} }}
    fulfillments {{ id state method trackingCode createdAt updatedAt }}
    payments {{ id state amount method createdAt refunds {{ id state total reason createdAt }} }}
    history(options: {{ take: $historyTake, sort: {{ id: ASC }} }}) {{ {HISTORY_FIELDS} }}
"""

ME = """
query CsMe {
    activeChannel { id code token }
    activeAdministrator { firstName lastName emailAddress }
}
"""

API_KEY_OWNER = """
query CsApiKeyOwner($lookupId: String!) {
    apiKeys(options: { filter: { lookupId: { eq: $lookupId } }, take: 1 }) {
        items { name owner { identifier } }
    }
}
"""

# One second of updates. Vendure's `eq` and `between` on dates match nothing on SQLite
# (text comparison against a differently formatted value), so the window is built
# from `after` and `before`, which work.
ORDERS_WITHIN = f"""
query CsOrdersWithin($after: DateTime!, $before: DateTime!, $skip: Int!, $take: Int!,
                     $historyTake: Int!) {{
    orders(options: {{ filter: {{ updatedAt: {{ after: $after, before: $before }} }},
                       sort: {{ updatedAt: ASC }}, skip: $skip, take: $take }}) {{
        totalItems
        items {{ {ORDER_FIELDS} }}
    }}
}}
"""

ORDERS_AFTER = f"""
query CsOrdersAfter($after: DateTime!, $take: Int!, $historyTake: Int!) {{
    orders(options: {{ filter: {{ updatedAt: {{ after: $after }} }}, sort: {{ updatedAt: ASC }},
                       take: $take }}) {{
        totalItems
        items {{ {ORDER_FIELDS} }}
    }}
}}
"""

ORDERS_FROM_START = f"""
query CsOrdersFromStart($take: Int!, $historyTake: Int!) {{
    orders(options: {{ sort: {{ updatedAt: ASC }}, take: $take }}) {{
        totalItems
        items {{ {ORDER_FIELDS} }}
    }}
}}
"""

ORDER_BY_ID = f"""
query CsOrder($id: ID!, $historyTake: Int!) {{
    order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""

ORDER_HISTORY_PAGE = f"""
query CsOrderHistory($id: ID!, $skip: Int!, $take: Int!) {{
    order(id: $id) {{
        history(options: {{ skip: $skip, take: $take, sort: {{ id: ASC }} }}) {{ {HISTORY_FIELDS} }}
    }}
}}
"""

# Notes and refunds do not touch Order.updatedAt, so recently updated orders are
# re-checked for history entries newer than the watermark.
RECENT_HISTORY = """
query CsRecentHistory($since: DateTime!, $newerThan: DateTime!, $skip: Int!, $take: Int!) {
    orders(options: { filter: { updatedAt: { after: $since } }, sort: { updatedAt: ASC },
                      skip: $skip, take: $take }) {
        totalItems
        items {
            id
            history(options: { filter: { createdAt: { after: $newerThan } }, take: 100 }) {
                items { id createdAt }
            }
        }
    }
}
"""

ORDER_NOTES = """
query CsOrderNotes($id: ID!, $skip: Int!, $take: Int!) {
    order(id: $id) {
        id
        history(options: { filter: { type: { eq: "ORDER_NOTE" } }, skip: $skip, take: $take,
                           sort: { id: ASC } }) {
            totalItems
            items { id createdAt type isPublic data }
        }
    }
}
"""

ADD_NOTE = """
mutation CsAddNote($input: AddNoteToOrderInput!) {
    addNoteToOrder(input: $input) { id }
}
"""

ORDER_PAYMENTS = """
query CsOrderPayments($id: ID!) {
    order(id: $id) {
        id
        state
        payments { id state amount refunds { id state total reason } }
    }
}
"""

REFUND_ORDER = f"""
mutation CsRefund($input: RefundOrderInput!) {{
    refundOrder(input: $input) {{ ... on Refund {{ id state total }} {ERROR_RESULT} }}
}}
"""

ORDER_CANCELLATIONS = """
query CsOrderCancellations($id: ID!) {
    order(id: $id) {
        id
        state
        history(options: { filter: { type: { eq: "ORDER_CANCELLATION" } }, take: 100 }) {
            items { id data }
        }
    }
}
"""

CANCEL_ORDER = f"""
mutation CsCancel($input: CancelOrderInput!) {{
    cancelOrder(input: $input) {{ ... on Order {{ id state }} {ERROR_RESULT} }}
}}
"""
