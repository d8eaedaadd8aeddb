"""What one bulk ticket says and when (demo/bulk.py): its subject and description, the times of
its messages, its conversation, notes and tags, written from demo/phrases.py."""

from datetime import timedelta

from helpdesk.demo import phrases


def ticket_text(rng, category, n):
    """(subject, description) of a ticket of `category` (IT, Sales and Billing have their own words)."""
    kind = category if category in phrases.SUBJECTS else "IT"
    slots = {name: rng.choice(values) for name, values in phrases.SLOTS.items()}
    subject = rng.choice(phrases.SUBJECTS[kind]).format(ref=10_000 + n % 90_000, **slots)
    details = rng.sample(phrases.DETAILS[kind], 2)
    body = f"{rng.choice(phrases.OPENINGS)}\n\n{' '.join(details)}\n\n{rng.choice(phrases.CLOSINGS)}"
    return subject, body


def ticket_times(rng, status, created, due, resolve_due, paid, now):
    """Instants of a ticket's three messages, its agent reply's index (None: unanswered) and its
    resolution, in order, all in the past. A paid ticket is answered (and resolved) on time."""
    minute = timedelta(minutes=1)
    first = created + min(minute * rng.randint(5, 120), (now - created) * 0.3)
    if status == "new":
        span = max(now - first, minute * 3)
        marks = sorted(first + span * rng.uniform(0.1, 0.95) for _ in range(2))
        return [first, *marks], None, None
    first = min(first, created + (due - created) * 0.5)  # before the reply-by time
    reply = first + (due - first) * rng.uniform(0.1, 0.9 if paid else 1.3)
    end = resolve_due if paid and resolve_due else reply + timedelta(hours=rng.uniform(2, 96))
    end = max(end, reply + minute)
    third = reply + (end - reply) * rng.uniform(0.2, 0.6)
    resolved = third + (end - third) * rng.uniform(0.2, 0.9)
    if status == "waiting":  # the customer asked again, then the agent asked them something
        times, agent_at = [first, first + (reply - first) * 0.5, reply], 2
    else:
        times, agent_at = [first, reply, third], 1
    done = resolved if status in ("resolved", "closed") else None
    last = done or times[-1]
    if last > now - minute:  # squeeze the whole story into the time since the ticket was opened
        scale = (now - minute - created) / (last - created)
        times = [created + (t - created) * scale for t in times]
        done = done and created + (done - created) * scale
    return times, agent_at, done


def conversation(rng, ticket_id, category, customer, agent, times, agent_at, count, note_share):
    """Message rows of a ticket: `count` public messages (customer, agent reply, customer; only the
    customer's while nobody has answered: agent_at None) and, on `note_share` of the answered
    tickets, the agent's internal note."""
    kind = category if category in phrases.AGENT_REPLIES else "IT"
    rows = []
    for k in range(count):
        at = times[min(k, 2)] + timedelta(minutes=10 * max(0, k - 2))
        by_agent = agent_at is not None and (k == agent_at or (k > 2 and k % 2 == 1))
        if by_agent:
            body = rng.choice(phrases.AGENT_REPLIES[kind])
        elif k == 0:
            body = rng.choice(phrases.CUSTOMER_ADDITIONS)
        elif agent_at is None or k < agent_at:
            body = rng.choice(phrases.FOLLOW_UPS)
        else:
            body = rng.choice(phrases.CUSTOMER_REPLIES)
        rows.append({"ticket_id": ticket_id, "author_id": agent if by_agent else customer, "body": body,
                     "internal": False, "source": "web", "created_at": at})  # fmt: skip
    if agent_at is not None and rng.random() < note_share:
        at = times[agent_at] + timedelta(minutes=rng.randint(1, 30))
        rows.append({"ticket_id": ticket_id, "author_id": agent, "body": rng.choice(phrases.NOTES),
                     "internal": True, "source": "web", "created_at": at})  # fmt: skip
    return rows


def tags(rng, ticket_id, category, share):
    """Tag rows of a ticket: one or two of its category's tags, on `share` of the tickets."""
    if rng.random() >= share:
        return []
    names = rng.sample(phrases.TAGS.get(category, phrases.TAGS["IT"]), rng.choice((1, 1, 2)))
    return [{"ticket_id": ticket_id, "name": name} for name in names]
