"""The demo shop: invented customers, orders and chats that make the console look alive."""
