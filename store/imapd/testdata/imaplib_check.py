# Drives a msgplex store with Python's imaplib; prints one line per check.
# usage: imaplib_check.py HOST PORT USER PASSWORD
import imaplib, sys

host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4(host, port)
m.login(user, pw)
msg = b"From: py@example.com\r\nSubject: from imaplib\r\n\r\nhello from python\r\n"
typ, data = m.append("INBOX", r"(\Flagged)", None, msg)
print("append", typ, b"APPENDUID" in data[0])
typ, data = m.select("INBOX")
print("select", typ, data[0].decode())
typ, data = m.search(None, "FROM", "py@example.com")
print("search", typ, data[0].decode())
typ, data = m.fetch(data[0].split()[-1], "(FLAGS BODY.PEEK[])")
print("fetch", typ, data[0][1] == msg, b"\\Flagged" in data[0][0])
typ, data = m.list()
print("list", typ, any(b"\\Trash" in l for l in data))
m.logout()
print("done")
