"""Earth Engine's ``Image.expression`` language, parsed here (never handed to ``eval``).

The grammar is Earth Engine's:

* numbers; ``b(0)``, ``b('B8')`` or ``b(1, 'B8')`` (bands of the image the method is called
  on; ``b()`` is all of them); names of the images in the map, with ``image.B8`` or
  ``image[0]`` for their bands;
* ``+ - * / % **``, ``< <= > >= == !=``, ``&& || !``, ``cond ? a : b``, parentheses;
* the functions ``abs sqrt exp log log10 floor ceil round sin cos tan min max pow``;
* ``name = expression`` names the result's one band.

Operators follow the facade's Image methods (``add``, ``divide``... so Earth Engine's band
pairing and mask rules), and precedence follows JavaScript's, as Earth Engine's parser does.
The parser is a small Pratt parser over a token list: a text can only build what these rules
build, whatever it contains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FUNCTIONS", "evaluate"]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>\*\*|<=|>=|==|!=|&&|\|\||[-+*/%<>!?:()\[\],.=]))"
)

#: Binary operators: precedence (higher binds tighter) and the Image method they call.
_BINARY: dict[str, tuple[int, str]] = {
    "||": (1, "Or"),
    "&&": (2, "And"),
    "==": (3, "eq"),
    "!=": (3, "neq"),
    "<": (4, "lt"),
    "<=": (4, "lte"),
    ">": (4, "gt"),
    ">=": (4, "gte"),
    "+": (5, "add"),
    "-": (5, "subtract"),
    "*": (6, "multiply"),
    "/": (6, "divide"),
    "%": (6, "mod"),
    "**": (8, "pow"),
}
_TERNARY_PRECEDENCE = 0
_UNARY_PRECEDENCE = 7
#: The functions an expression may call, and the Image method each calls.
FUNCTIONS: dict[str, str] = {
    "abs": "abs",
    "sqrt": "sqrt",
    "exp": "exp",
    "log": "log",
    "log10": "log10",
    "floor": "floor",
    "ceil": "ceil",
    "round": "round",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "min": "min",
    "max": "max",
    "pow": "pow",
}
_TWO_ARGUMENTS = {"min", "max", "pow"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, string, op, end
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        found = _TOKEN.match(text, at)
        if found is None or found.end() == at:
            raise ValueError(
                f"expression: cannot read {text[at:].strip()[:20]!r} at character {at + 1} of "
                f"{text!r}"
            )
        kind = found.lastgroup
        tokens.append(_Token(kind, found[kind], found.start(kind)))
        at = found.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def evaluate(text: str, primary: Any, images: Mapping[str, Any], new_image: Callable) -> Any:
    """The Image that ``text`` computes.

    Parameters
    ----------
    text
        The expression (see the module).
    primary
        The image whose bands ``b(...)`` reads.
    images
        The map of named images (numbers are allowed too: constants).
    new_image
        Makes an Image of a number on ``primary``'s grid (for an expression that is a number,
        or a number on both sides of an operator).

    Raises
    ------
    ValueError
        A text that is not an expression, an unknown name or function, a missing band.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expression takes a non-empty text, e.g. \"(b('B8') - b('B4'))\".")
    parser = _Parser(text, _tokens(text), primary, dict(images), new_image)
    name = None
    tokens = parser.tokens
    if len(tokens) > 2 and tokens[0].kind == "name" and tokens[1].text == "=":
        name, parser.position = tokens[0].text, 2
    result = parser.expression(_TERNARY_PRECEDENCE)
    parser.expect("end")
    result = new_image(result) if isinstance(result, float) else result
    if name is not None:
        if len(result.band_names()) != 1:
            raise ValueError(
                f"expression: '{name} = ...' names one band, but the result has "
                f"{result.band_names()}."
            )
        result = result.rename(name)
    return result


class _Parser:
    def __init__(self, text, tokens, primary, images, new_image) -> None:
        self.text, self.tokens, self.position = text, tokens, 0
        self.primary, self.images, self.new_image = primary, images, new_image

    # --- tokens ------------------------------------------------------------------------------

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.take()
        if (token.kind if text == "end" else token.text) != text:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise ValueError(
                f"expression: expected {'the end' if text == 'end' else repr(text)} at "
                f"character {token.at + 1} of {self.text!r}, found {found}."
            )
        return token

    # --- grammar -----------------------------------------------------------------------------

    def expression(self, floor: int) -> Any:
        left = self.prefix()
        while True:
            token = self.peek()
            if token.text == "?" and floor <= _TERNARY_PRECEDENCE:
                self.take()
                when_true = self.expression(_TERNARY_PRECEDENCE)
                self.expect(":")
                when_false = self.expression(_TERNARY_PRECEDENCE)
                left = self.ternary(left, when_true, when_false)
                continue
            if token.kind != "op" or token.text not in _BINARY:
                return left
            precedence, method = _BINARY[token.text]
            if precedence < floor:
                return left
            self.take()
            # ** is right-associative; the others left-associative.
            right = self.expression(precedence if token.text == "**" else precedence + 1)
            left = self.binary(method, left, right)

    def prefix(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.text == "(":
            inner = self.expression(_TERNARY_PRECEDENCE)
            self.expect(")")
            return inner
        if token.text in ("-", "+", "!"):
            operand = self.expression(_UNARY_PRECEDENCE)
            if token.text == "+":
                return operand
            if token.text == "-":
                return -operand if isinstance(operand, float) else operand.multiply(-1.0)
            return float(not operand) if isinstance(operand, float) else operand.Not()
        if token.kind == "name":
            return self.named(token)
        found = "the end" if token.kind == "end" else repr(token.text)
        raise ValueError(
            f"expression: unexpected {found} at character {token.at + 1} of {self.text!r}."
        )

    def named(self, token: _Token) -> Any:
        name = token.text
        if name == "b" and self.peek().text == "(":
            return self.bands(self.primary, self.arguments())
        if name in FUNCTIONS and self.peek().text == "(":
            return self.function(name, self.arguments())
        if name not in self.images:
            known = sorted(self.images)
            raise ValueError(
                f"expression: unknown name {name!r} at character {token.at + 1}; images in "
                f"the map: {known}, functions: {sorted(FUNCTIONS)}, and b(...) for bands."
            )
        image = self.images[name]
        if self.peek().text == ".":
            self.take()
            band = self.take()
            if band.kind not in ("name", "number"):
                raise ValueError(f"expression: a band name must follow '{name}.'.")
            return self.bands(image, [band.text])
        if self.peek().text == "[":
            self.take()
            selectors = [self.selector()]
            while self.peek().text == ",":
                self.take()
                selectors.append(self.selector())
            self.expect("]")
            return self.bands(image, selectors)
        return float(image) if isinstance(image, int | float) else image

    def arguments(self) -> list[Any]:
        """``( a, b, ... )``: expressions, or band selectors for ``b``."""
        self.expect("(")
        values: list[Any] = []
        if self.peek().text != ")":
            values.append(self.argument())
            while self.peek().text == ",":
                self.take()
                values.append(self.argument())
        self.expect(")")
        return values

    def argument(self) -> Any:
        if self.peek().kind == "string":
            return self.take().text[1:-1]
        return self.expression(_TERNARY_PRECEDENCE)

    def selector(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind == "number":
            return float(token.text)
        raise ValueError(f"expression: a band index or name in [...], not {token.text!r}.")

    # --- what the grammar builds --------------------------------------------------------------

    def bands(self, image: Any, selectors: list[Any]) -> Any:
        if not selectors:
            return image
        names = image.band_names()
        chosen = []
        for selector in selectors:
            if isinstance(selector, float):
                if not selector.is_integer() or not 0 <= selector < len(names):
                    raise ValueError(
                        f"expression: band index {selector:g} is not one of 0..{len(names) - 1} "
                        f"(bands {names})."
                    )
                chosen.append(names[int(selector)])
            elif isinstance(selector, str):
                chosen.append(selector)
            else:
                raise ValueError("expression: b(...) takes band indices and names.")
        return image.select(chosen)

    def function(self, name: str, values: list[Any]) -> Any:
        wanted = 2 if name in _TWO_ARGUMENTS else 1
        if len(values) != wanted:
            raise ValueError(f"expression: {name}() takes {wanted} argument(s), not {len(values)}.")
        first = self.as_image(values[0])
        method = getattr(first, FUNCTIONS[name])
        return method(values[1]) if wanted == 2 else method()

    def binary(self, method: str, left: Any, right: Any) -> Any:
        if isinstance(left, float):
            left = self.as_image(left)
        return getattr(left, method)(right)

    def ternary(self, test: Any, when_true: Any, when_false: Any) -> Any:
        false_image = self.as_image(when_false)
        if isinstance(test, float):
            return self.as_image(when_true) if test else false_image
        return false_image.where(test, when_true)

    def as_image(self, value: Any) -> Any:
        return self.new_image(value) if isinstance(value, float) else value
