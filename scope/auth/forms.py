from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import ScopeForm


class LoginForm(ScopeForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=512)]
    )
