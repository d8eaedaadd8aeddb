"""Demo data for `make run` and the benchmarks: every domain's sample rows, made idempotently."""


def init_app(app):
    from helpdesk.demo.cli import seed_demo_command

    app.cli.add_command(seed_demo_command)
