"""Burned-in text: a camera or an export that writes the patient's name, birth date or number into
the pixels. OCR (RapidOCR: its ONNX models ship inside the wheel, nothing is downloaded) finds
text boxes; any found is flagged "possible patient data", and the image editor opens with masks
over the boxes for a person to confirm.

The text read is never kept: it IS the patient data this check exists to find, and a copy in the
check's values would spread it to every page, export and API answer that shows a check. Only the
boxes (original pixels, where the masks go), how many and how long each is are kept.

Cost: the detector runs on the working copy shrunk to OCR_SIZE on its long side, one thread, one
engine per process (models load once); recognition runs on at most MAX_BOXES boxes.
"""

import threading

import cv2
import numpy as np

from fundushub.checks.models import Verdict
from fundushub.checks.registry import Check, Result, Subject, register

NAME = "burned_text"
VERSION = 1

# The detector's input, long side in pixels: its cost grows with the area. Smaller misses the
# small print some cameras use; larger costs more than the rest of ingest.
OCR_SIZE = 800
# The recogniser's confidence that a box holds the characters it read (0-1).
MIN_CONFIDENCE = 0.6
# Fewer characters than this are not taken as text (a vessel crossing read as "l").
MIN_CHARACTERS = 2
# Boxes recognised and kept per image: bounds the time and the masks.
MAX_BOXES = 20
# Masks cover a little more than the box: letters' edges and anti-aliasing.
MARGIN = 0.2  # of the box's height, on every side

_engine = None
_lock = threading.Lock()


def engine():
    """The OCR engine of this process, made on first use. One thread per model: a check must not
    take both cores from storing files. Calls go through _lock as well (the engine keeps
    per-call state), so threads of one process never share it at once."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                from rapidocr_onnxruntime import RapidOCR  # loads OpenCV and ONNX Runtime

                _engine = RapidOCR(
                    use_cls=False,  # burned-in text is upright
                    det_limit_type="max",  # never enlarge what it is given
                    intra_op_num_threads=1,
                    inter_op_num_threads=1,
                )
    return _engine


def read_boxes(rgb: np.ndarray) -> tuple[list, float]:
    """([(4 corner points, characters, confidence)], pixels of rgb per OCR pixel): the text boxes
    of rgb, at most MAX_BOXES, the largest first."""
    height, width = rgb.shape[:2]
    k = min(1.0, OCR_SIZE / max(height, width))
    small = rgb
    if k < 1.0:
        size = (max(1, round(width * k)), max(1, round(height * k)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(small[..., ::-1])
    ocr = engine()
    with _lock:
        boxes, _ = ocr.text_det(bgr)
        if boxes is None or len(boxes) == 0:
            return [], 1 / k
        boxes = sorted(boxes, key=_area, reverse=True)[:MAX_BOXES]
        read, _ = ocr.text_rec(ocr.get_crop_img_list(bgr, boxes), False)
    found = [
        (box, len(text.replace(" ", "")), float(score))
        for box, (text, score, *_) in zip(boxes, read, strict=True)
    ]
    return found, 1 / k


def _area(box) -> float:
    xs, ys = box[:, 0], box[:, 1]
    return float((xs.max() - xs.min()) * (ys.max() - ys.min()))


def upright_size(subject: Subject) -> tuple[int, int]:
    """The original's size as shown (EXIF orientation applied), which the working copy is a
    reduction of: the image row keeps the stored pixels' size, before any turn."""
    width, height = subject.image.width, subject.image.height
    rows, cols = subject.rgb.shape[:2]
    if width != height and rows != cols and (cols > rows) != (width > height):
        return height, width
    return width, height


def to_original(box, per_pixel: float, size: tuple[int, int]) -> list[int]:
    """[x, y, w, h] in the original's upright pixels, with MARGIN, inside the picture."""
    xs, ys = box[:, 0] * per_pixel, box[:, 1] * per_pixel
    margin = (ys.max() - ys.min()) * MARGIN
    x0, y0 = max(0, int(xs.min() - margin)), max(0, int(ys.min() - margin))
    x1 = min(size[0], int(np.ceil(xs.max() + margin)))
    y1 = min(size[1], int(np.ceil(ys.max() + margin)))
    return [x0, y0, max(1, x1 - x0), max(1, y1 - y0)]


def run(subject: Subject) -> Result:
    found, per_ocr_pixel = read_boxes(subject.rgb)
    text = [(box, n) for box, n, score in found if score >= MIN_CONFIDENCE and n >= MIN_CHARACTERS]
    if not text:
        return Result(Verdict.PASS, values={"boxes": [], "count": 0})
    size = upright_size(subject)
    per_pixel = per_ocr_pixel * size[0] / subject.rgb.shape[1]  # original pixels per OCR pixel
    boxes = [to_original(box, per_pixel, size) for box, _ in text]
    values = {"boxes": boxes, "count": len(boxes), "characters": [n for _, n in text]}
    s = "" if len(boxes) == 1 else "es"
    reason = f"Possible patient data: {len(boxes)} text box{s} burned into the picture"
    return Result(Verdict.FLAG, reason, flagged=True, values=values)


register(Check(NAME, VERSION, "burned-in text", run))
