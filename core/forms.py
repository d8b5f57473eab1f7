"""How every form of the product renders: django-crispy-forms with the Bootstrap 5 pack.

The page's template keeps the ``<form>`` tag (its id, action, CSRF token, hidden context inputs and buttons);
``{% crispy form %}`` renders the rest the same way everywhere: an error summary at the top
(``templates/bootstrap5/errors.html``), then each field with its label, help text and its Chinese error beside it
(``is-invalid`` + ``invalid-feedback``), showing what the user typed.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _


def form_helper(*layout, error_title: str = "", summary: bool = True, label_class: str = "") -> FormHelper:
    """The helper of a form whose ``<form>`` tag lives in the template.

    ``layout``: crispy layout objects arranging the fields; none renders every field in order, one under another.
    ``error_title``: the first line of the error summary when the form is refused (the default says the fields
    below are marked and nothing typed was lost). ``summary=False``: no summary, for a line of filters whose only
    errors are their fields' own.
    """
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the template's <form> carries {% csrf_token %}
    helper.form_error_title = error_title
    helper.error_summary = summary
    helper.label_class = label_class
    if layout:
        helper.layout = Layout(*layout)
    return helper


class PasswordResetRequestForm(PasswordResetForm):
    """The address that receives the reset link; the page opens with the cursor in it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autofocus"] = True


# Long passphrases are welcome (ASVS asks for at least 64 characters); nobody needs a megabyte hashed.
PASSWORD_MAX_LENGTH = 128


class NewPasswordForm(SetPasswordForm):
    """The new password chosen from a reset link; the page opens with the cursor in it."""

    new_password1 = forms.CharField(
        label=_("新密码"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].widget.attrs["autofocus"] = True
