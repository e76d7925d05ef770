"""twistd plugin: `twistd gxcpool` runs the GXC mining pool (gxcpoold.tap)."""
from twisted.application.service import ServiceMaker

gxcpool = ServiceMaker("gxcpool", "gxcpoold.tap", "GXC mining pool daemon", "gxcpool")
