"""Files added to an article without its form (the API's upload): the editor's upload checks and
limits (kb.files, tickets/uploads.py), all or none. Apart from kb.files because it locks the
article (kb.articles), which itself attaches the files staged with the editor's form."""

import secrets

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, UploadRejected
from helpdesk.kb import articles, files


def add_files(actor, article, sent):
    """Check, store and give the article the files sent at once (the API's upload), through the
    editor's rules: the upload checks (type, content, size, files at once, the staged quota) and
    MAX_FILES per article. All or none: a refused file raises UploadRejected (its `messages` name
    each refused file) and the caller's rollback removes the files already stored. Returns the
    new ArticleFile rows."""
    if not policy.can_edit_article(actor, article):
        raise NotAllowed("You may not change this article.")
    if not sent:
        raise UploadRejected("Send at least one file (the form field `files`).")
    articles.lock(article)  # two uploads at once cannot pass MAX_FILES together
    key = "api-" + secrets.token_hex(16)
    _kept, errors = files.stage(actor, key, sent)
    if errors:
        error = UploadRejected(" ".join(errors))
        error.messages = errors
        raise error
    before = {item.id for item in article.files}
    files.attach_staged(actor, article, key)
    article.updated_at = utcnow()  # as the editor's Save does when it attaches files
    return [item for item in article.files if item.id not in before]
