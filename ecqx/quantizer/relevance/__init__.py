"""Per-weight relevance criteria. ECQ and ECQx share one code path; only the criterion differs:

- :class:`LRP` (ECQx, default): LRP weight relevance, epsilon rule for dense layers and
  alpha2-beta1 for convolutions, through zennit, or a hand-written pass for Linear stacks;
- :class:`DeepLIFT`: DeepLIFT (Rescale) weight relevance from Captum's layer attributions
  (Linear and Conv layers), the companion paper's explanation score;
- :class:`GradientTimesWeight`: ``w * dy_target/dw``, a cheaper saliency baseline;
- :class:`NoRelevance`: plain ECQ.
"""

from ecqx.quantizer.relevance.criteria import (
    LRP,
    Criterion,
    GradientTimesWeight,
    NoRelevance,
    criterion_for,
)
from ecqx.quantizer.relevance.deeplift import DeepLIFT
from ecqx.quantizer.relevance.trace import ForwardTrace, start_relevance

__all__ = [
    "LRP",
    "Criterion",
    "DeepLIFT",
    "GradientTimesWeight",
    "NoRelevance",
    "criterion_for",
    "ForwardTrace",
    "start_relevance",
]
