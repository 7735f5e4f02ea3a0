//! Linux data plane: TAP aggregate, AF_PACKET members, vnet headers, epoll threads, rtnetlink.
