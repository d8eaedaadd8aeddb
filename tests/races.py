"""Requests sent at the same moment, as a double click or two tabs send them to two app servers."""

import threading

from helpdesk.extensions import db


def post_at_once(app, login, user, url, data, copies=2):
    """The same form posted `copies` times at once as `user`, each from its own client (its own
    thread and connection: the test must be `committing`); their answers, in the order they came,
    None for one that raised (what a browser gets as a 500)."""
    clients = [app.test_client() for _ in range(copies)]
    for each in clients:
        login(user, as_client=each)
    db.session.commit()
    barrier, answers = threading.Barrier(copies), []

    def send(each):
        barrier.wait()
        try:
            answers.append(each.post(url, data=data))
        except Exception:  # noqa: BLE001 - reported as None, a 500
            answers.append(None)

    threads = [threading.Thread(target=send, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    return answers


def status_codes(answers):
    """The answers' status codes, sorted; 500 for one that raised."""
    return sorted(500 if answer is None else answer.status_code for answer in answers)
