"""Quoted-printable bodies for the MIME builder, fast: what is the same for every recipient is encoded once.

``QuotedPrintableCache.encode_pieces`` takes a body as the compiled email's literals (the same objects for every
recipient) and the values between them, and encodes only the values; ``encode`` takes a whole string and re-encodes
only what changed since earlier recipients (lines with URLs or names).
"""

import binascii
import re

_ASCII_CONTROLS = bytes([*range(32), 127])
# An output line of quoted-printable: up to 72 characters, then the rest of an "=XX" escape or up to two more.
_QP_CHUNK = re.compile(rb".{1,72}(?:=..|[^=]{0,2})", re.S)
# The rest of a URL after "http": personalised text is cut around URLs (tokens make them differ per recipient).
_URL_REST = re.compile(r"""s?://[^\s"'<>]*""")


def qp_line(line):
    """A piece of one line (no line end) -> UTF-8 quoted-printable bytes, soft-broken (CRLF) into lines of at most
    75 characters plus the "=", ending in no raw whitespace, so that encoded pieces can be joined with soft breaks;
    a lone "." line never appears."""
    data = line.encode("ascii") if line.isascii() else b""
    if data and len(data.translate(None, _ASCII_CONTROLS)) == len(data):
        # Most lines: two bytes methods and one regex, ~3x faster than binascii.b2a_qp.
        data = data.replace(b"=", b"=3D")
        if data.endswith(b" "):
            data = data[:-1] + b"=20"
    else:
        data = binascii.b2a_qp(line.encode("utf-8", "surrogatepass"), istext=True).replace(b"=\n", b"")
    return _soft_break(data)


def _soft_break(data):
    """Quoted-printable bytes of one line, soft-broken into lines of at most 75 characters plus the "=" (never
    encoded again: a second pass would turn "=3D" into "=3D3D")."""
    chunks = _QP_CHUNK.findall(data) if len(data) > 75 else [data]
    if chunks[-1] == b".":
        chunks[-1] = b"=2E"
    return b"=\r\n".join(chunks)


def _qp_urls(urls):
    """qp_line of each URL, the common case (short, ASCII, no control characters) in a few calls for all."""
    if not urls:
        return urls
    joined = "\n".join(urls)
    if joined.isascii():
        data = joined.encode("ascii")
        if len(data.translate(None, _ASCII_CONTROLS)) == len(data) - len(urls) + 1:  # only the separators
            encoded = data.replace(b"=", b"=3D").split(b"\n")
            return [url if len(url) <= 75 else _soft_break(url) for url in encoded]
    return [qp_line(url) for url in urls]


class QuotedPrintableCache:
    """Quoted-printable encoding of the parts of one campaign's messages, with a cache.

    Personalised text differs from one recipient to the next mostly in its URLs (tokens) and in a few lines (names).
    So the text is cut around its URLs: the static pieces between them are looked up whole; a piece not seen before
    (one with a name in it) is encoded line by line, its other lines coming from the cache too. Pieces are joined
    with soft line breaks. Cost: about one hash and two copies of the text, plus encoding what is new.

    What is seen once (a name) goes to a "young" dict, emptied when it fills; what is seen again (the newsletter's
    own text) is kept: personalised pieces never push the static ones out.
    """

    def __init__(self, limit=4096):
        self.limit = limit
        self.cache = {}  # seen at least twice
        self.young = {}  # seen once
        # The same for encode_pieces, whose entries end with their soft line break.
        self.pieces_cache = {"": b""}
        self.pieces_young = {}

    def encode(self, text):
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        get = self.cache.get
        first, *rest = text.split("http")
        urls, afters = [], []
        for piece in rest:
            match = _URL_REST.match(piece)
            end = match.end() if match else 0
            urls.append("http" + piece[:end])
            afters.append(piece[end:])
        out = [get(first) or self._piece(first)]
        for url, after in zip(_qp_urls(urls), afters, strict=True):
            # A soft line break joins two pieces, unless the first one ended a line.
            out.append(b"" if not out[-1] or out[-1].endswith(b"\r\n") else b"=\r\n")
            out.append(url)
            if after:
                out.append(b"" if after[0] == "\n" else b"=\r\n")
                out.append(get(after) or self._piece(after))
        return b"".join(out)

    def encode_pieces(self, pieces):
        """Text given as pieces to join (``personalise(..., pieces=True)``: the compiled literals, the same objects
        for every recipient, and the values between them): each literal is encoded once per campaign, the values of
        a message together, and pieces are joined with soft line breaks — no re-encoding of the newsletter per
        recipient. Pieces are kept encoded with the soft break that follows them, so a message is one join."""
        stable = self.pieces_cache
        encoded = [stable.get(piece) for piece in pieces]
        missing = [index for index, value in enumerate(encoded) if value is None]
        if missing:
            texts = list(dict.fromkeys([pieces[index] for index in missing]))  # an address repeats in a message
            new = dict(zip(texts, self._encode_values(texts), strict=True))
            for index in missing:
                encoded[index] = new[pieces[index]]
            young, limit = self.pieces_young, self.limit
            for text, value in new.items():
                # Seen in two messages: part of the newsletter, kept (within the limit); in one (a URL with a token,
                # an address): kept until the young dict fills. Inline: it runs for every URL of every message.
                if young.pop(text, None) is None:
                    if len(young) >= limit:
                        young.clear()
                    young[text] = value
                elif len(stable) < limit:
                    stable[text] = value
        body = b"".join(encoded)
        return body[:-3] if body.endswith(b"=\r\n") else body

    def _encode_values(self, texts):
        """Each text encoded, followed by a soft line break unless it is empty or ends a line."""
        joined = "\0".join(texts) + "\0"  # one search for all: no line ends, no whitespace at the end of a text
        if "\n" not in joined and "\r" not in joined and " \0" not in joined and "\t\0" not in joined:
            values = _qp_urls(texts)  # one pass for all: most are URLs and names
            return [value + b"=\r\n" if text else value for text, value in zip(texts, values, strict=True)]
        values = [self._encode_text(text) for text in texts]
        return [
            value if not text or text[-1] == "\n" else value + b"=\r\n"
            for text, value in zip(texts, values, strict=True)
        ]

    @staticmethod
    def _encode_text(text):
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return b"\r\n".join([qp_line(line) if line else b"" for line in text.split("\n")])

    def _piece(self, piece):
        encoded = self._recall(piece)
        if encoded is not None:
            return encoded
        lines = piece.split("\n")
        if len(lines) == 1:
            return self._store(piece, qp_line(piece))
        get = self.cache.get
        encoded = []
        for line in lines:
            line_encoded = get(line) if line else b""  # b"" is falsy: empty lines are not looked up
            if line_encoded is None:
                line_encoded = self._recall(line)
                if line_encoded is None:
                    line_encoded = self._store(line, qp_line(line))
            encoded.append(line_encoded)
        return self._store(piece, b"\r\n".join(encoded))

    def _recall(self, text):
        """A piece seen once before: it is part of the newsletter, keep it for good (within the limit)."""
        encoded = self.young.pop(text, None)
        if encoded is not None and len(self.cache) < self.limit:
            self.cache[text] = encoded
        return encoded

    def _store(self, text, encoded):
        if len(self.young) >= self.limit:  # personalised pieces would make it grow without end
            self.young.clear()
        self.young[text] = encoded
        return encoded
