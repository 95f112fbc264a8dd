"""An organisation's people and settings: invitations, roles, ownership, leaving, and the
organisation's own details (name, UEN, GST, address, time zone).

`actions.py` holds every change to a team, one named function each, with its rules and audit
event; `views.py` the pages of the organisation's host (/team/, /settings/) and the invitation
links of the public host (/invitations/<token>/). The models (Membership, Invitation) stay in
`tenants`, the base every app stands on: who may enter an organisation is decided there.
"""
