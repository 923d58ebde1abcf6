"""What a browser submits from an HTML form, for clients that speak HTTP without one.

The acceptance test of `make run` and the entries benchmark post the entry
form the way a person's browser does: every named control of the form, hidden
ones included, in document order, with what the person typed, chose and
ticked. A name that appears twice is sent twice, and Django reads the last
value (``QueryDict.__getitem__``), so a stale token left in a cached part of
the form is what the server sees, as it is for real visitors. Standard library
only: the benchmark imports it too.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

TEXT_TYPES = {"text", "email", "hidden", "search", "tel", "url", "password", "number", "date"}
BUTTON_TYPES = {"submit", "image", "reset", "button"}
Value = str | list[str] | bool


@dataclass
class Control:
    """One named control of a form, in the state the page gives it."""

    tag: str  # input, select, textarea or button
    type: str  # the input's type; "select-one", "select-multiple" or "textarea" otherwise
    name: str
    value: str = ""
    checked: bool = False
    disabled: bool = False
    # A select's options: (value, selected), in order.
    options: list[tuple[str, bool]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.found = False
        self.inside = False
        self.controls: list[Control] = []
        self.select: Control | None = None
        self.option: list | None = None  # [value or None, selected, text]
        self.textarea: Control | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == self.form_id:
            self.found = self.inside = True
            return
        if not self.inside:
            return
        name = attributes.get("name")
        disabled = "disabled" in attributes
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            self.controls.append(
                Control(
                    "input",
                    kind,
                    name,
                    value=_default_value(attributes.get("value"), kind),
                    checked="checked" in attributes,
                    disabled=disabled,
                )
            )
        elif tag == "button" and name:
            kind = (attributes.get("type") or "submit").lower()
            control = Control("button", kind, name, attributes.get("value") or "")
            self.controls.append(control)
        elif tag == "select" and name:
            kind = "select-multiple" if "multiple" in attributes else "select-one"
            self.select = Control("select", kind, name, disabled=disabled)
            self.controls.append(self.select)
        elif tag in ("option", "optgroup") and self.select is not None:
            self._end_option()
            if tag == "option":
                self.option = [attributes.get("value"), "selected" in attributes, ""]
        elif tag == "textarea" and name:
            self.textarea = Control("textarea", "textarea", name, disabled=disabled)
            self.controls.append(self.textarea)

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag in ("option", "optgroup", "select"):
            self._end_option()
            if tag == "select":
                self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the newline that directly follows <textarea>.
            self.textarea.value = self.textarea.value.removeprefix("\n")
            self.textarea = None

    def handle_data(self, data):
        if self.option is not None:
            self.option[2] += data
        elif self.textarea is not None:
            self.textarea.value += data

    def _end_option(self) -> None:
        if self.option is not None and self.select is not None:
            value, selected, text = self.option
            # Without a value attribute, an option's value is its text.
            self.select.options.append(
                (" ".join(text.split()) if value is None else value, selected)
            )
        self.option = None


class BrowserForm:
    """A form as a browser holds it: fill it in like a person, then take what it sends."""

    def __init__(self, controls: list[Control]) -> None:
        self.controls = controls

    @classmethod
    def parse(cls, html: str, form_id: str) -> "BrowserForm":
        parser = _FormParser(form_id)
        parser.feed(html)
        parser.close()
        if not parser.found:
            raise ValueError(f"the page has no form with id {form_id!r}")
        return cls(parser.controls)

    def values(self, name: str) -> list[str]:
        """Every value the page itself puts under ``name`` (hidden fields, defaults)."""
        return [value for key, value in self.data() if key == name]

    def options(self, name: str) -> list[str]:
        """The values a person can choose in the select ``name``."""
        return [value for control in self.named(name) for value, _ in control.options]

    def named(self, name: str) -> list[Control]:
        return [control for control in self.controls if control.name == name]

    def data(self, filled: dict[str, Value] | None = None, *, submitter: str | None = None):
        """The pairs the browser posts, in document order, once ``filled`` is entered.

        ``filled`` is what the person does: text for a text field or a
        textarea, a value or a list of values chosen in a select (only among
        the options it offers), True or False to tick or untick a checkbox.
        Hidden fields cannot be filled, as a person cannot. ``submitter`` is
        the name of the button pressed, whose value is sent too.
        """
        filled = dict(filled or {})
        visible = [c for c in self.controls if c.type != "hidden" and c.tag != "button"]
        unknown = set(filled) - {control.name for control in visible}
        if unknown:
            raise ValueError(f"the form has no field a person can fill named {sorted(unknown)}")
        self._check_offered(filled, visible)
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            if control.disabled:
                continue
            entered = filled.get(control.name) if control in visible else None
            if isinstance(entered, list | tuple) and len(self.named(control.name)) > 1:
                # Values chosen under a name that several controls share (boxes
                # to tick and a list beside them): each takes the ones it offers.
                entered = [value for value in entered if value in _offered(control)]
            if control.tag == "button" or control.type in BUTTON_TYPES:
                if control.name == submitter:
                    pairs.append((control.name, control.value))
            elif control.tag == "select":
                pairs.extend((control.name, value) for value in _selected(control, entered))
            elif control.type in ("checkbox", "radio"):
                if isinstance(entered, list | tuple):
                    entered = control.value in entered
                if control.checked if entered is None else entered:
                    pairs.append((control.name, control.value))
            elif control.tag == "textarea" or control.type in TEXT_TYPES:
                pairs.append((control.name, control.value if entered is None else str(entered)))
        return pairs

    def _check_offered(self, filled: dict[str, Value], visible: list[Control]) -> None:
        """A list of values must each be offered by a control of that name."""
        for name, chosen in filled.items():
            controls = [control for control in visible if control.name == name]
            if not isinstance(chosen, list | tuple) or len(controls) < 2:
                continue
            offered = {value for control in controls for value in _offered(control)}
            missing = [value for value in chosen if value not in offered]
            if missing:
                raise ValueError(f"{name!r} offers no option {missing}")


def _offered(control: Control) -> list[str]:
    if control.tag == "select":
        return [value for value, _ in control.options]
    return [control.value] if control.type in ("checkbox", "radio") else []


def _default_value(value: str | None, kind: str) -> str:
    if value is None:
        # A checkbox or radio button without a value sends "on".
        return "on" if kind in ("checkbox", "radio") else ""
    return value


def _selected(control: Control, chosen: Value | None) -> list[str]:
    offered = [value for value, _ in control.options]
    if chosen is None:
        selected = [value for value, is_selected in control.options if is_selected]
        if control.type == "select-one":
            # A drop-down always sends one option: the last one marked selected,
            # or the first when none is.
            return selected[-1:] or offered[:1]
        return selected
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    missing = [value for value in chosen if value not in offered]
    if missing:
        raise ValueError(f"{control.name!r} offers no option {missing}")
    if control.type == "select-one" and len(chosen) != 1:
        raise ValueError(f"{control.name!r} takes exactly one choice, not {chosen}")
    return chosen
