"""Privacy: PDPA requests (access, deletion, correction, withdrawing consent), consent
withdrawal links, and the retention rule for old leads.

Both shared and tenant, like audit. Each organisation answers its own contacts' requests, so a
request made on its host lives in its schema beside the leads, notes and events it concerns:
the export and the anonymisation read and change only that schema, and its owners and admins
work the requests in its privacy inbox. NexusCore answers for its own users and sales leads,
whose data is in the public schema: requests made on the public site live there, and staff
work them in the staff admin. Same model, same code; the schema decides whose request it is.
"""
