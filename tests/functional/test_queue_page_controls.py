"""The queue's controls as the server renders them: what works without JavaScript, and the
keyboard shortcuts' script for agents only."""

from .test_agent_queue import subjects


def test_without_javascript_the_bulk_form_is_always_there_with_a_labelled_select_all(client, login, desk):
    login(desk.tech_it)
    html = client.get("/agent/").get_data(as_text=True)
    assert '<fieldset class="bulk" id="bulk-bar" data-bulk-bar>' in html  # not hidden by the server
    # after the rows it acts on (tick them, then choose what to do), inside their form
    assert (
        html.index("</table>") < html.index('id="bulk-bar"') < html.index("</form>", html.index("</table>"))
    )
    assert (
        '<input type="checkbox" id="select-all" class="js-only" aria-label="Select all tickets on this page">'
        in html
    )
    assert f'data-category="{desk.it.id}"' in html and subjects(client.get("/agent/")) == ["VPN drops"]


def test_the_shortcuts_script_is_loaded_for_agents_only(client, login, desk):
    login(desk.tech_it)
    assert 'src="/static/keys.js' in client.get("/agent/").get_data(as_text=True)
    assert f'data-me="{desk.tech_it.id}"' in client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(
        as_text=True
    )
    login(desk.requester)
    assert "keys.js" not in client.get("/portal/tickets").get_data(as_text=True)
