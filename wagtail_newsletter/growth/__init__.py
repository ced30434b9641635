"""Growth: audiences computed from what people did with earlier campaigns — follow-ups to non-openers,
non-clickers and newcomers now; segments, A/B tests and automations belong here too.

Sits above ``track`` (it reads recipients' activity) and ``send`` (it makes campaigns); ``send`` plans a follow-up's
deliveries through the audience hook this floor registers (``send.planner.set_follow_up_audience``).
"""
