from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..forms import ScopeForm
from ..partners.forms import EmployerForm, OrganizationForm
from .services import PasswordRefused, check_new_password

_CONTROL_CHARACTERS = {chr(c) for c in range(32)} | {"\x7f"}


def no_control_characters(form, field):
    """The cleaner drops invisible characters; an address that had them was mistyped."""
    raw = (field.raw_data or [""])[0]
    if isinstance(raw, str) and any(ch in _CONTROL_CHARACTERS for ch in raw):
        raise ValidationError("Enter an email address without hidden or control characters.")


class ForgotPasswordForm(ScopeForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email."),
            Length(max=254, message="Use at most 254 characters."),
            no_control_characters,
            Email(message="Enter an email address like name@example.org."),
        ],
    )


_CONFIRM = EqualTo("password", message="The passwords do not match. Type the same password twice.")


class _NewPasswordForm(ScopeForm):
    """The password policy is checked beside the field, even when the confirmation differs."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field):
        if self.user is None:
            return
        try:
            check_new_password(self.user, field.data)
        except PasswordRefused as refused:
            raise ValidationError(str(refused)) from None


class SetPasswordForm(_NewPasswordForm):
    password = PasswordField("Password", validators=[DataRequired("Choose a password.")])
    confirm_password = PasswordField(
        "Confirm password",
        validators=[DataRequired("Type the password again."), _CONFIRM],
    )


class ChangePasswordForm(_NewPasswordForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])
    confirm_password = PasswordField(
        "Confirm password",
        validators=[DataRequired("Type the new password again."), _CONFIRM],
    )


class NameForm(ScopeForm):
    first_name = StringField(
        "First name",
        validators=[
            DataRequired("Enter your first name."),
            Length(max=100, message="Use at most 100 characters."),
        ],
    )
    last_name = StringField(
        "Last name",
        validators=[
            DataRequired("Enter your last name."),
            Length(max=100, message="Use at most 100 characters."),
        ],
    )


class PartnerOrganizationForm(OrganizationForm):
    """What a partner's administrator may edit: the profile without the sponsor's notes."""

    notes = None


class PartnerEmployerForm(EmployerForm):
    notes = None
