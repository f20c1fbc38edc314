"""The chips as data. Every figure carries the document it comes from (``sources``).

Loihi 2's per-operation energies and times are not published; the Loihi 1 figures of Davies et
al. (2018) stand in as an upper-bound proxy and are labelled so. Xylo publishes power for an
application, not per-operation energy, so its estimate is power x real-time duration. Where no
figure is published the field is ``None`` and the estimate says so instead of guessing.
"""

from __future__ import annotations

from neuromorph.hardware_models.chips.spec import ChipSpec

LOIHI2_BRIEF = ("Intel Labs, 'Taking Neuromorphic Computing to the Next Level with Loihi 2', "
                "technology brief (2021)")
LAVA_LIF = ("Lava (lava-nc), src/lava/proc/lif/models.py, PyLifModelBitAcc: 24-bit u and v, "
            "12-bit du/dv, 17-bit vth (<< 6), 13-bit bias mantissa, 3-bit bias exponent, "
            "reset v = 0")
LAVA_DENSE = ("Lava (lava-nc), src/lava/proc/dense/models.py and src/lava/utils/weightutils.py: "
              "8-bit weights (mixed sign: LSB truncated), weight_exp shift, one-step buffered "
              "delivery")
LAVA_LIF_REFRACTORY = ("Lava (lava-nc) 0.8+, src/lava/proc/lif/process.py LIFRefractory: a LIF "
                       "that holds v for refractory_period steps after a spike")
DAVIES2018 = ("Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', "
              "IEEE Micro 38(1):82-99 (2018), Table 2 - Loihi 1 values, used as an upper-bound "
              "proxy for Loihi 2")
ROCKPOOL_XYLO = ("Rockpool documentation, 'Overview of the Xylo family' "
                 "(rockpool.ai/devices/xylo-overview.html), XyloAudio 2 (SYNS61201)")
ROCKPOOL_MAPPER = ("rockpool 3.1, devices/xylo/syns61201/xylo_mapper.py: max_hidden_neurons=1000, "
                   "max_output_neurons=8, int8 weights, int16 thresholds")
XYLO_SYN2 = ("rockpool, devices/xylo/syns61201 (xyloCore2 configuration): each hidden neuron "
             "has a second synaptic current (syn2 weights, synapse2_enable, dash_syn_2)")
XYLOSIM = ("xylosim 0.1.3 (SynSense's Xylo simulator), behaviour checked bit for bit in "
           "tests/hardware_models/test_chips_xylo.py")
ONM_XYLO = ("Open Neuromorphic hardware page 'Xylo - SynSense': 16-bit states, 64,000 synaptic "
            "weights; 219 uW idle and 93 uW dynamic power measured on audio classification")
SAMNA_SPECK = ("SynSense samna documentation, 'Speck 2b' key features: 9 convolutional layers, "
               "8-bit weights, 16-bit neuron state, kernel <= 16x16, <= 1024 features, fanout 2")
SINABS_DYNAPCNN = ("sinabs, backend/dynapcnn/chips/dynapcnn.py get_constraints: weight memory "
                   "16-64 Ki and neuron memory 16-64 Ki entries per core; reset to zero or by "
                   "subtraction")
ONM_SPECK = ("Open Neuromorphic hardware page 'Speck - SynSense': 328K integrate-and-fire "
             "neurons, 3.36 us per event through a 9-layer network")
YAO2024 = ("Yao et al., 'Spike-based dynamic computing with asynchronous sensing-computing "
           "neuromorphic chip', Nature Communications 15:4464 (2024): resting power 0.42 mW")
MAYR2019 = ("Mayr, Hoeppner, Furber, 'SpiNNaker 2: A 10 Million Core Processor System for Brain "
            "Simulation and Machine Learning', arXiv:1911.02385 (2019): 152 ARM Cortex-M4F "
            "processing elements per chip, 128 KB SRAM each")
AKD1000 = ("BrainChip, AKD1000 product brief: 80 neural processing units, 1.2 million neurons, "
           "10 billion synapses, 1-, 2- and 4-bit weights and activations")

LOIHI2 = ChipSpec(
    name="loihi2", full_name="Intel Loihi 2",
    neuron_types=("lif", "cuba_lif", "if", "li"), reset_types=("zero",),
    recurrent=True, conv=True, dense=True, decay="mult12", energy_model="per_op",
    cores=128, neurons_per_core=8192, max_neurons=1_000_000, max_synapses=120_000_000,
    weight_bits=8, state_bits=24, threshold_bits=17, synaptic_currents=1, refractory=True,
    energy_per_synop=23.6e-12, energy_per_neuron_update=81e-12,
    time_per_synop=3.5e-9, time_per_neuron_update=8.4e-9,
    sources={"cores": LOIHI2_BRIEF, "neurons_per_core": LOIHI2_BRIEF,
             "max_neurons": LOIHI2_BRIEF, "max_synapses": LOIHI2_BRIEF,
             "weight_bits": LAVA_DENSE, "state_bits": LAVA_LIF, "threshold_bits": LAVA_LIF,
             "synaptic_currents": LAVA_LIF, "energy_per_synop": DAVIES2018,
             "energy_per_neuron_update": DAVIES2018,
             "time_per_synop": DAVIES2018, "time_per_neuron_update": DAVIES2018},
    notes="Standard Lava CUBA LIF (one current u, v; reset to 0); a refractory period through "
          f"Lava's LIFRefractory ({LAVA_LIF_REFRACTORY}). Other resets need a microcoded neuron.",
)

XYLO = ChipSpec(
    name="xylo", full_name="SynSense XyloAudio 2 (SYNS61201)",
    neuron_types=("cuba_lif",), reset_types=("subtract",),
    recurrent=True, conv=False, dense=True, decay="bitshift", energy_model="power",
    cores=1, max_neurons=1000, max_outputs=8, max_inputs=16, max_fan_out=64,
    max_synapses=64_000, max_input_events=15, max_spikes_per_step=31,
    weight_bits=8, state_bits=16, threshold_bits=16, synaptic_currents=2,
    static_power=219e-6, dynamic_power=93e-6,
    sources={"cores": ROCKPOOL_XYLO, "max_neurons": ROCKPOOL_MAPPER,
             "max_outputs": ROCKPOOL_MAPPER, "max_inputs": ROCKPOOL_XYLO,
             "max_fan_out": ROCKPOOL_XYLO, "max_synapses": ONM_XYLO,
             "max_input_events": ROCKPOOL_XYLO, "max_spikes_per_step": XYLOSIM,
             "weight_bits": ROCKPOOL_MAPPER, "state_bits": ONM_XYLO,
             "threshold_bits": ROCKPOOL_MAPPER, "synaptic_currents": XYLO_SYN2,
             "static_power": ONM_XYLO,
             "dynamic_power": ONM_XYLO},
    notes="CuBa-LIF with bit-shift decays (x -= x >> dash), 16-bit saturating state, subtract "
          "reset, no refractory period, up to 31 spikes per step; hidden-to-hidden and "
          "hidden-to-output synapses deliver one step later. A LIF without a synaptic current "
          "maps to the fastest synapse (dash_syn = 1).",
)

SPECK = ChipSpec(
    name="speck", full_name="SynSense Speck (DYNAP-CNN core)",
    neuron_types=("if",), reset_types=("zero", "subtract"),
    recurrent=False, conv=True, dense=True, decay="none", energy_model="power",
    cores=9, neurons_per_core=65_536, synapses_per_core=65_536, max_neurons=328_000,
    max_fan_out=2, weight_bits=8, state_bits=16, threshold_bits=16, max_kernel=16,
    max_channels=1024, static_power=0.42e-3,
    sources={"cores": SAMNA_SPECK, "neurons_per_core": SINABS_DYNAPCNN,
             "synapses_per_core": SINABS_DYNAPCNN, "max_neurons": ONM_SPECK,
             "max_fan_out": SAMNA_SPECK, "weight_bits": SAMNA_SPECK, "state_bits": SAMNA_SPECK,
             "threshold_bits": SINABS_DYNAPCNN, "max_kernel": SAMNA_SPECK,
             "max_channels": SAMNA_SPECK, "static_power": YAO2024},
    notes="Integrate-and-fire only (a constant 'leak' through the bias); one layer per core, "
          "each core sends to at most 2 others; dense layers run as full-size convolutions. "
          "Per-operation energy is not published: the estimate is resting power only.",
)

SPINNAKER2 = ChipSpec(
    name="spinnaker2", full_name="SpiNNaker2",
    neuron_types=("lif", "cuba_lif", "if", "li", "alif"), reset_types=("zero", "subtract"),
    recurrent=True, conv=True, dense=True, decay="software", energy_model="per_op",
    cores=152, refractory=True,
    sources={"cores": MAYR2019},
    notes="Neurons run as software on ARM cores: neuron model, precision and neurons per core "
          "are set by the software within 128 KB SRAM per core; no per-operation energy is "
          "published for SpiNNaker2, so the estimate reports counts only.",
)

AKIDA = ChipSpec(
    name="akida", full_name="BrainChip Akida AKD1000",
    neuron_types=(), reset_types=(),
    recurrent=False, conv=True, dense=True, decay="none", energy_model="per_op",
    cores=80, max_neurons=1_200_000, max_synapses=10_000_000_000, weight_bits=4,
    sources={"cores": AKD1000, "max_neurons": AKD1000, "max_synapses": AKD1000,
             "weight_bits": AKD1000},
    notes="Runs quantized event-based CNN layers (converted from ANNs with BrainChip's "
          "cnn2snn), not LIF membrane dynamics; no recurrent layers on AKD1000.",
)

#: chip name -> spec. The one place chip names are dispatched.
CHIPS: dict[str, ChipSpec] = {c.name: c for c in (LOIHI2, XYLO, SPECK, SPINNAKER2, AKIDA)}


def get_chip(name: str | ChipSpec) -> ChipSpec:
    """The spec for ``name`` (a spec passes through); unknown names list the known chips."""
    if isinstance(name, ChipSpec):
        return name
    key = name.lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"loihi": "loihi2", "xyloaudio2": "xylo", "dynapcnn": "speck", "akd1000": "akida"}
    key = aliases.get(key, key)
    if key not in CHIPS:
        raise ValueError(f"unknown chip {name!r}; choose one of {sorted(CHIPS)}")
    return CHIPS[key]


__all__ = ["AKIDA", "CHIPS", "LOIHI2", "SPECK", "SPINNAKER2", "XYLO", "get_chip"]
