"""Forms that render in the design system (classes and ARIA wiring on every widget)."""

from django import forms


class StyledFormMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                continue
            css = (
                "select"
                if isinstance(widget, forms.Select)
                else ("textarea" if isinstance(widget, forms.Textarea) else "input")
            )
            widget.attrs.setdefault("class", css)
            if self.is_bound and name in self.errors:
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"id_{name}_error"
            elif field.help_text:
                widget.attrs["aria-describedby"] = f"id_{name}_hint"


class StyledForm(StyledFormMixin, forms.Form):
    pass
