from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from ..auth.passwords import MAX_LENGTH, password_problem
from ..forms import ScopeForm
from ..models import PARTNER_USER_TYPES, OrganizationKind
from ..tenancy import parse_id

USER_TYPE_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(t.value, t.label) for t in PARTNER_USER_TYPES
]


def _int_or_none(value):
    if value in (None, ""):
        return None
    return parse_id(value if isinstance(value, int) else str(value).strip()) or -1
    # -1 is never a real id: the choice check refuses it


class OrganizationChoiceForm(ScopeForm):
    organization = SelectField(
        "Employer",
        coerce=_int_or_none,
        validators=[DataRequired("Choose the organization the people work at.")],
        validate_choice=False,
    )

    def fill(self, organizations):
        """Employers and providers as option groups (the template draws them)."""
        self.groups = {"Employers": [], "Education providers": []}
        for org in organizations:
            key = "Employers" if org.kind is OrganizationKind.EMPLOYER else "Education providers"
            self.groups[key].append((org.id, org.name))
        return self


class TeammateRowForm(ScopeForm):
    email = EmailField("Email", validators=[Length(max=1000)])


class ExternalRowForm(ScopeForm):
    user_type = SelectField("User type", choices=USER_TYPE_CHOICES, validate_choice=False)
    email = EmailField("Email", validators=[Length(max=1000)])
    occupation = SelectField(
        "Occupation", coerce=_int_or_none, validators=[Optional()], validate_choice=False
    )

    def fill(self, occupations):
        self.occupation.choices = [SelectChoice("", "Choose…")] + [
            SelectChoice(o.id, o.name) for o in occupations
        ]
        return self

    def validate_user_type(self, field):
        if field.data not in {t.value for t in PARTNER_USER_TYPES}:
            raise ValidationError("Choose a user type.")


class SignUpForm(ScopeForm):
    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter your first name."), Length(max=100)],
    )
    last_name = StringField(
        "Last name",
        validators=[DataRequired("Enter your last name."), Length(max=100)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), Length(max=MAX_LENGTH)],
        description="At least 12 characters. A few unrelated words make a strong password.",
    )
    confirm_password = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field):
        problem = password_problem(
            field.data or "",
            hints=[self._email, self.first_name.data or "", self.last_name.data or ""],
        )
        if problem:
            raise ValidationError(problem)


class ManagedRowForm(ExternalRowForm):
    first_name = StringField(
        "First name", validators=[DataRequired("Enter the first name."), Length(max=100)]
    )
    last_name = StringField(
        "Last name", validators=[DataRequired("Enter the last name."), Length(max=100)]
    )
    email = EmailField(
        "Email",
        validators=[Length(max=1000)],
        description="Optional; needed to authenticate later.",
    )


class CsvUploadForm(ScopeForm):
    csv_file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])
