"""Published networks, written in vfilib from the facts of their state dicts (no upstream code is
copied): RIFE HDv3 (:mod:`.rife_hdv3`), Practical-RIFE v3.9 (:mod:`.rife_v39`), Practical-RIFE 4.25
(:mod:`.rife_425`), and the ImageNet VGG16 / AlexNet feature nets of the perceptual loss and LPIPS
(:mod:`.imagenet`). Their weights come through :mod:`vfilib.models.weights`.

A frame-interpolation network here takes a BGR pair and answers ``forward(img0, img1, t, scale) ->
(frame, flow, mask)`` on inputs padded to ``pad_multiple(scale)``; its peer entry
(:data:`vfilib.eval.peers.PEERS`) says which times it supports and where its weights come from."""
