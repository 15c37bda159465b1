"""A template of text and `{{ root.key }}` outputs is printed without the Liquid parser when every
value it reads is a string; it must print exactly what Liquid prints, and anything else must
still go through Liquid."""

from types import SimpleNamespace

import pytest
from liquid.exceptions import LiquidError

from audiences.models import Customer
from journeys.engine.context import StepContext, plain_template
from templating import render_liquid


def _ctx(*, key="cart-7", attributes=None, event=None) -> StepContext:
    customer = Customer(
        external_id="c-1", email="ann@example.com", phone="", timezone="", locale="",
        attributes={"first_name": "Ann", "plan": "pro", "score": 3, "nested": {"city": "Oslo"}, "gone": None}
        if attributes is None else attributes,
        tags=["vip"],
    )
    run = SimpleNamespace(journey_names={5: "Welcome"}, now=None, simulate=False, customer=lambda _id: customer)
    enrollment = SimpleNamespace(
        id=1, customer_id=9, journey_id=5, workspace_id=1, step_seq=0, holdout=False, key=key,
        context={"event": event if event is not None else {"sku": "A-1", "qty": 2}},
    )
    version = SimpleNamespace(graph={}, settings={})
    return StepContext(run, enrollment, {"id": "n", "config": {}}, version, {})


TEMPLATES = [
    "{{ enrollment.key }}",
    "Cart {{ enrollment.key }} for {{ customer.first_name }} ({{ customer.email }})",
    "{{journey.name}}/{{ event.sku }}",
    "Hi {{ customer.nested.city }}!",
    "{{ customer.score }}",  # a number: Liquid's rules
    "{{ customer.missing }} x",  # absent: Liquid's rules
    "{{ customer.gone }}",  # null
    "{{ customer.tags }}",  # a list
    "{{ customer.first_name | upcase }}",  # a filter
    "{% if customer.plan == 'pro' %}P{% endif %}{{ enrollment.key }}",
    "{{- enrollment.key -}} ",
    "{{ event.qty }} of {{ event.sku }}",
    "{{ customer.first_name.size }}",
    "{{ shop.name }} {{ enrollment.key }}",
    "{ {{ enrollment.key }} }} }",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_prints_what_liquid_prints(template):
    ctx = _ctx()
    assert ctx.render(template) == render_liquid(template, ctx.liquid_context())


def test_only_text_and_plain_outputs_skip_the_parser():
    assert plain_template("Cart {{ enrollment.key }}") == ("Cart ", ("enrollment", "key"), "")
    for template in ("{{ customer.first_name | upcase }}", "{% if x %}{% endif %}", "{{- enrollment.key }}",
                     "{{ shop.name }}", "{{ enrollment }}", "{# c #}{{ enrollment.key }}"):
        assert plain_template(template) is None


def test_a_key_too_long_for_the_sandbox_still_fails_as_liquid_does():
    ctx = _ctx(key="k" * 200_001)
    with pytest.raises(LiquidError):
        ctx.render("{{ enrollment.key }}")
