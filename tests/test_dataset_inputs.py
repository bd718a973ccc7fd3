"""Datasets as X: the same model as arrays, real DataLoader workers, seeded workers, an
ImageFolder on disk, attacks that read only what they attack, and every bad item named."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skspectral import (
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    adversarial_distances,
)


class Items(torch.utils.data.Dataset):
    """``(X[i], y[i])`` or ``X[i]``; records which items were read (in this process).

    Like torchvision's datasets it lists its labels as ``targets``, so that reading the
    labels decodes no item.
    """

    def __init__(self, X, y=None, noise=0.0):
        self.X, self.y, self.noise = X, y, noise
        if y is not None:
            self.targets = y
        self.reads = []

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads.append(int(i))
        x = self.X[i]
        if self.noise:  # a random transform, drawn from the worker's torch generator
            x = x + self.noise * torch.rand(x.shape).numpy()
        return x if self.y is None else (x, self.y[i])


class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        yield from range(3)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32)[:300], y[:300]


@pytest.fixture(scope="module")
def images(digits):
    X, y = digits
    return (X.reshape(-1, 1, 8, 8) * 255).astype(np.uint8)[:120], y[:120]


def _same_weights(a, b):
    return all(torch.equal(p, q) for p, q in
               zip(a.net_.module_.state_dict().values(), b.net_.module_.state_dict().values(),
                   strict=True))


MLP = dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=64, burnin=1, gamma=0.05,
           random_state=0)
RESNET = dict(max_epochs=1, batch_size=32, burnin=0, update_every=2, random_state=0)
BARLOW = dict(max_epochs=1, batch_size=32, projector=(8,), burnin=0, update_every=2,
              random_state=0)


# ----------------------------------------------------------------- the same model either way
def test_a_dataset_trains_the_model_its_arrays_train(digits):
    X, y = digits
    arrays = SpectralMLPClassifier(**MLP).fit(X, y)
    dataset = SpectralMLPClassifier(**MLP).fit(Items(X, y))
    assert _same_weights(arrays, dataset)
    np.testing.assert_array_equal(arrays.classes_, dataset.classes_)
    np.testing.assert_array_equal(arrays.predict(X), dataset.predict(Items(X)))
    np.testing.assert_array_equal(arrays.transform(X), dataset.transform(Items(X, y)))
    assert arrays.score(X, y) == dataset.score(Items(X, y))
    # y alongside a dataset of bare samples, and labels of another type
    named = SpectralMLPClassifier(**MLP).fit(Items(X), np.array(list("abcdefghij"))[y])
    assert _same_weights(arrays, named)


@pytest.mark.parametrize("Estimator, params, labelled", [
    (SpectralResNetClassifier, RESNET, True), (SpectralBarlowTwins, BARLOW, False)])
def test_image_datasets_with_worker_processes_train_the_array_model(images, Estimator, params,
                                                                   labelled):
    X, y = images
    arrays = Estimator(**params).fit(X, y if labelled else None)
    workers = Estimator(**params, iterator_train__num_workers=2,
                        iterator_valid__num_workers=2).fit(Items(X, y))
    assert _same_weights(arrays, workers)
    np.testing.assert_array_equal(arrays.transform(X), workers.transform(Items(X)))


class _BatchDtypes(Callback):
    def initialize(self):
        self.dtypes_ = set()
        return self

    def on_batch_begin(self, net, batch=None, **kwargs):
        self.dtypes_.add(batch[0].dtype)


def test_uint8_images_travel_as_uint8_and_equal_their_float_copy(images):
    X, y = images
    probe = _BatchDtypes()
    as_uint8 = SpectralResNetClassifier(**RESNET, callbacks=[probe]).fit(X, y)
    assert probe.dtypes_ == {torch.uint8}  # converted on the device, a batch at a time
    as_float = SpectralResNetClassifier(**RESNET).fit(X.astype(np.float32), y)
    assert _same_weights(as_uint8, as_float)


# ----------------------------------------------------------------- worker seeds
def _noisy_fit(X, y, random_state):
    return SpectralMLPClassifier(**{**MLP, "random_state": random_state},
                                 iterator_train__num_workers=2).fit(Items(X, y, noise=0.1))


def test_worker_seeds_derive_from_random_state(digits):
    X, y = digits
    first, again, other = _noisy_fit(X, y, 0), _noisy_fit(X, y, 0), _noisy_fit(X, y, 1)
    assert _same_weights(first, again)
    assert not _same_weights(first, other)
    # and the transforms' draws differ between epochs (seeds mix in the epoch)
    from skspectral.data import BatchLoader, ItemDataset
    data = ItemDataset(Items(X, y, noise=0.1), (64,), uint8=False, classes=np.unique(y))
    loader = BatchLoader(data, 300, num_workers=2, seed=0)
    epoch1, epoch2 = (next(iter(loader))[0] for _ in range(2))
    assert not torch.equal(epoch1, epoch2)
    assert torch.equal(epoch1, next(iter(BatchLoader(data, 300, num_workers=2, seed=0)))[0])


# ----------------------------------------------------------------- a folder of image files
def test_an_image_folder_on_disk(tmp_path, images):
    from PIL import Image
    from torchvision.datasets import ImageFolder

    X, y = images
    for i, (image, label) in enumerate(zip(X[:60], y[:60], strict=True)):
        folder = tmp_path / f"class_{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(image[0]).save(folder / f"{i}.png")
    folder = ImageFolder(tmp_path, loader=lambda path: Image.open(path).convert("L"))
    clf = SpectralResNetClassifier(**RESNET, iterator_train__num_workers=2).fit(folder)
    assert clf.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(clf.classes_, np.unique(folder.targets))
    assert clf.predict(folder).shape == (60,)
    # the files hold the arrays' pixels: the same predictions as the arrays in folder order
    order = [int(path.split("/")[-1][:-4]) for path, _ in folder.samples]
    np.testing.assert_array_equal(clf.predict(folder), clf.predict(X[order]))


# ----------------------------------------------------------------- attacks read what they attack
def test_adversarial_distances_read_only_the_attacked_items(digits):
    X, y = digits
    clf = SpectralMLPClassifier(**MLP).fit(X, y)
    dataset = Items(X, y)
    result = adversarial_distances(clf, dataset, n_samples=5, random_state=0, max_iter=3)
    assert len(result) == 5
    assert set(dataset.reads) <= {0, *result.indices.tolist()}  # item 0 gives the shape
    on_arrays = adversarial_distances(clf, X, y, n_samples=5, random_state=0, max_iter=3)
    np.testing.assert_array_equal(result.indices, on_arrays.indices)
    np.testing.assert_array_equal(result.distances, on_arrays.distances)


def test_the_scorer_reads_a_few_items_of_a_dataset(digits):
    X, y = digits
    clf = SpectralMLPClassifier(**MLP).fit(X, y)
    dataset = Items(X, y)
    score = RobustnessScorer(n_samples=4, max_iter=3)(clf, dataset, None)
    assert score > 0
    assert len(set(dataset.reads)) < len(X) // 4


# ----------------------------------------------------------------- bad input names the item
class _Bad(Items):
    def __init__(self, X, y, bad_index, bad_item):
        super().__init__(X, y)
        self.bad_index, self.bad_item = bad_index, bad_item

    def __getitem__(self, i):
        return self.bad_item if i == self.bad_index else super().__getitem__(i)


@pytest.mark.parametrize("bad_item, error, match", [
    (("not an image", 1), TypeError, "Item 7 of the dataset holds a str"),
    ((np.zeros(63, np.float32), 1), ValueError, r"Item 7 .* shape \(63,\), but the first"),
    ((np.zeros(64, np.int64), 1), TypeError, "Item 7 of the dataset has dtype torch.int64"),
    ((np.zeros(64, np.float32), None), ValueError, r"Item 7 of the dataset has no label \(None"),
    ((np.zeros(64, np.float32), 1, 2), ValueError, "Item 7 of the dataset is a sequence of 3"),
])
def test_a_bad_item_is_named_by_its_index(digits, bad_item, error, match):
    X, y = digits
    with pytest.raises(error, match=match):
        SpectralMLPClassifier(**MLP).fit(_Bad(X, y, 7, bad_item))


def test_labels_given_alongside_a_dataset_replace_the_items_labels(digits):
    X, y = digits
    given = SpectralMLPClassifier(**MLP).fit(_Bad(X, y, 7, (X[7], None)), y)
    assert _same_weights(given, SpectralMLPClassifier(**MLP).fit(X, y))


def test_images_of_different_sizes_are_named_even_in_a_worker(images):
    X, y = images
    other = np.zeros((1, 9, 8), np.uint8)
    with pytest.raises(ValueError, match=r"Item 5 of the dataset has an image of shape "
                                         r"\(1, 9, 8\), but the first item's is \(1, 8, 8\)"):
        SpectralResNetClassifier(**RESNET, iterator_train__num_workers=2).fit(
            _Bad(X, y, 5, (other, y[5])))


def test_a_dataset_with_a_y_of_another_length(digits):
    X, y = digits
    with pytest.raises(ValueError, match="The dataset has 300 items but y has 299 labels"):
        SpectralMLPClassifier(**MLP).fit(Items(X), y[:-1])


def test_an_iterable_style_dataset_is_refused(digits):
    with pytest.raises(TypeError, match="iterable-style dataset .* needs a map-style"):
        SpectralMLPClassifier(**MLP).fit(Stream())
    clf = SpectralMLPClassifier(**MLP).fit(*digits)
    with pytest.raises(TypeError, match="iterable-style"):
        adversarial_distances(clf, Stream(), n_samples=2)


def test_negative_workers_and_worker_settings_without_workers(digits):
    with pytest.raises(InvalidParameterError, match="'iterator_train__num_workers' parameter of "
                                                    "SpectralMLPClassifier must be an int in "
                                                    r"the range \[0, inf\)"):
        SpectralMLPClassifier(**MLP, iterator_train__num_workers=-1).fit(*digits)
    with pytest.raises(ValueError, match="set iterator_valid__num_workers > 0"):
        SpectralMLPClassifier(**MLP, iterator_valid__persistent_workers=True).fit(*digits)
