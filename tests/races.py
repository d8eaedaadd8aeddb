"""Requests sent at the same moment, as a double click or two tabs send them to two app servers."""

import threading

from helpdesk.extensions import db


def post_at_once(app, login, user, url, data, copies=2):
    """The same form posted `copies` times at once as `user`, each from its own client (its own
    thread and connection: the test must be `committing`); their answers (posts_at_once)."""
    clients = [app.test_client() for _ in range(copies)]
    for each in clients:
        login(user, as_client=each)
    db.session.commit()
    return posts_at_once(*((each, url, data) for each in clients))


def posts_at_once(*posts):
    """Each (client, url, data) posted at the same moment, each from its own thread (the test must
    be `committing`); their answers in the order given, None for one that raised (what a browser
    gets as a 500)."""
    barrier, answers = threading.Barrier(len(posts)), [None] * len(posts)

    def send(n, each, url, data):
        barrier.wait()
        try:
            answers[n] = each.post(url, data=data)
        except Exception:  # noqa: BLE001 - reported as None, a 500
            answers[n] = None

    threads = [threading.Thread(target=send, args=(n, *post)) for n, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    return answers


def run_at_once(target, values):
    """target(value) for each of `values`, each in its own thread, all started before any is
    waited for; returns when every one has ended (the test must be `committing`)."""
    threads = [threading.Thread(target=target, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def status_codes(answers):
    """The answers' status codes, sorted; 500 for one that raised."""
    return sorted(500 if answer is None else answer.status_code for answer in answers)
