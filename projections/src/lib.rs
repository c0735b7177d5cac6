//! Read models built from the event feed.
