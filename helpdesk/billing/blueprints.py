"""The billing domain's blueprints: customers' billing pages and the billing admin."""

from flask import Blueprint

from helpdesk.access import admin_blueprint

bp = Blueprint("billing", __name__)  # /billing: buying credits, receipts, the Stripe webhook
admin_bp = admin_blueprint("billing_admin", __name__)  # /admin/billing: packs, payments, revenue
