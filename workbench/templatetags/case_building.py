"""The case page's "add evidence" form: a fresh one, or the one a refused upload sent back."""

from django import template

from workbench.forms import CaseEvidenceForm

register = template.Library()


@register.simple_tag
def evidence_form(bound: object = None) -> CaseEvidenceForm:
    """The form to show: ``bound`` (with its errors) after a refusal, else an empty one."""
    # A page without a refused upload has no form in its context: the variable is "".
    if isinstance(bound, CaseEvidenceForm):
        return bound
    return CaseEvidenceForm(auto_id="evidence_%s")
