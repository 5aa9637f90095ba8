"""Published networks, written in vfilib from the facts of their state dicts (no upstream code is
copied): RIFE HDv3 (:mod:`.rife_hdv3`), Practical-RIFE v3.9 (:mod:`.rife_v39`), and the ImageNet
VGG16 / AlexNet feature nets of the perceptual loss and LPIPS (:mod:`.imagenet`). Their weights come
through :mod:`vfilib.models.weights`."""
