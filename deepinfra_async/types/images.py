"""Image generation (``POST /images/generations``), OpenAI-compatible."""

import base64
import binascii

import attrs

__all__ = ["Image", "ImagesResponse"]


@attrs.frozen(kw_only=True)
class Image:
    """One generated image: base64 data (``response_format="b64_json"``) or a URL.

    Attributes:
        b64_json: The image file, base64-encoded.
        url: Where to download it (a temporary copy kept about a day), with
            ``response_format="url"``.
        revised_prompt: The prompt the model actually used, when it rewrote yours.

    .. versionadded:: 0.1.0
    """

    b64_json: str | None = attrs.field(
        default=None,
        repr=lambda value: "None" if value is None else f"<{len(value)} base64 characters>",
    )
    url: str | None = None
    revised_prompt: str | None = None

    def decode(self) -> bytes:
        """Decode ``b64_json`` into the image file's bytes.

        Returns:
            The image file (PNG, JPEG... as the model produced it).

        Raises:
            ValueError: The image came as a URL (``b64_json`` is ``None``; download
                ``url`` instead) or ``b64_json`` is not valid base64.

        .. versionadded:: 0.1.0
        """
        if self.b64_json is None:
            where = f"; download it from {self.url!r}" if self.url is not None else ""
            hint = "ask for response_format='b64_json'"
            msg = f"this image has no b64_json to decode ({hint}){where}"
            raise ValueError(msg)
        try:
            return base64.b64decode(self.b64_json, validate=True)
        except binascii.Error as exc:
            msg = f"the b64_json of this image is not valid base64: {exc}"
            raise ValueError(msg) from exc


@attrs.frozen(kw_only=True)
class ImagesResponse:
    """The answer to an image generation request.

    Attributes:
        created: Unix time of creation, when the server sent it.
        data: The images, ``n`` of them.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    created: int | None = None
    data: list[Image]
    request_id: str | None = None
