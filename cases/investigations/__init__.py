"""The evidence-first investigation agent: tools over selectors that return evidence with stable ids, a
policy that decides what may be proposed, the chat model that only chooses tools and narrates, and the
offline provider that needs no key. Its runs and proposals are written by cases.services.investigations."""
